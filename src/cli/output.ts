/** How commands print: `--json` gives one JSON document on stdout; otherwise short human lines. */
import { stringify } from '../control/json.js';

export interface OutputOpts {
  json?: boolean;
}

export function print(opts: OutputOpts, value: unknown, human: () => string): void {
  process.stdout.write(opts.json ? `${stringify(value, true)}\n` : `${human()}\n`);
}
