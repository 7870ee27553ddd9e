/**
 * Shared pieces of the transport tests: an echo listener, a sender that honours `write`'s backpressure, and a child
 * `node` process running the transport from plain JS (to prove close/destroy leave no handle keeping it alive).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { Connection, Listener, Transport } from '../../../../src/actors/session/transport/transport.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../../..');

export async function echoListener(t: Transport): Promise<Listener> {
  return t.listen({ host: '127.0.0.1', port: 0 }, (conn) => {
    void (async () => {
      try {
        for await (const chunk of conn) {
          const r = conn.write(chunk);
          if (r !== true) await r;
        }
        await conn.close();
      } catch {
        conn.destroy();
      }
    })();
  });
}

export async function sendAll(conn: Connection, data: Uint8Array, chunk = 64 * 1024): Promise<void> {
  for (let off = 0; off < data.length; off += chunk) {
    const r = conn.write(data.subarray(off, Math.min(off + chunk, data.length)));
    if (r !== true) await r;
  }
}

export async function readExactly(it: AsyncIterator<Uint8Array>, n: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let got = 0;
  while (got < n) {
    const r = await it.next();
    if (r.done) throw new Error(`stream ended after ${got} of ${n} bytes`);
    parts.push(r.value);
    got += r.value.length;
  }
  const all = Buffer.concat(parts);
  if (all.length !== n) throw new Error(`read ${all.length} bytes, expected exactly ${n}`);
  return all;
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

let transpiled: string | undefined;

/**
 * Transpiles src/errors.ts and the transport folder once, under node_modules/.cache inside the project so that bare
 * imports (@matrixai/quic) resolve from the project's node_modules; returns the transport folder's path there.
 */
export function transpiledTransportDir(): string {
  if (transpiled) return transpiled;
  mkdirSync(join(ROOT, 'node_modules/.cache'), { recursive: true });
  const out = mkdtempSync(join(ROOT, 'node_modules/.cache/scp2p-transport-'));
  const dir = 'src/actors/session/transport';
  const files = ['src/errors.ts', ...readdirSync(join(ROOT, dir)).filter((f) => f.endsWith('.ts')).map((f) => `${dir}/${f}`)];
  for (const f of files) {
    const js = ts.transpileModule(readFileSync(join(ROOT, f), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const dest = join(out, f.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, js);
  }
  writeFileSync(join(out, 'package.json'), '{"type":"module"}');
  transpiled = join(out, dir);
  return transpiled;
}

/** Removes the transpiled copy (call from afterAll). */
export function removeTranspiled(): void {
  if (transpiled) rmSync(dirname(dirname(dirname(dirname(transpiled)))), { recursive: true, force: true });
  transpiled = undefined;
}

/** Runs an ESM snippet in a child `node`; resolves with its exit code, or 'hung' if it did not exit by itself. */
export function runChild(code: string, timeoutMs: number): Promise<{ code: number | 'hung'; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: transpiledTransportDir() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ code: 'hung', stdout, stderr });
    }, timeoutMs);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve({ code: c ?? -1, stdout, stderr });
    });
  });
}
