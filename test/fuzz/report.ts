/** Long-campaign figures: printed, and merged into test-artifacts/fuzz-report.json (one entry per campaign). */
import fs from 'node:fs';
import path from 'node:path';

export function report(name: string, value: object): void {
  const file = path.resolve('test-artifacts/fuzz-report.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const all = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  all[name] = { at: new Date().toISOString(), ...value };
  fs.writeFileSync(file, JSON.stringify(all, null, 1) + '\n');
  console.log(`${name}: ${JSON.stringify(value, null, 1)}`);
}
