/**
 * Shared pieces of the transport tests: an echo listener, a sender that honours `write`'s backpressure, and a child
 * `node` process running the transport from plain JS (to prove close/destroy leave no handle keeping it alive);
 * and the checks the TLS and QUIC tests make alike (echo round trips, a writer nobody reads, dial timeout/abort,
 * no handle left open).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { expect } from 'vitest';
import { ScpError } from '../../../../src/errors.js';
import type { Connection, Listener, Transport, TransportKind } from '../../../../src/actors/session/transport/transport.js';

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

/** Echoes random payloads of each size (sent in 7,919-byte writes) back byte for byte, then closes: reason local. */
export async function expectEchoes(t: Transport, kind: TransportKind, sizes: number[]): Promise<void> {
  const l = await echoListener(t);
  const c = await t.dial(l.address);
  expect(c.kind).toBe(kind);
  expect(c.remoteAddress).toEqual(l.address);
  const it = c[Symbol.asyncIterator]();
  for (const n of sizes) {
    const data = randomBytes(n);
    await sendAll(c, data, 7_919);
    expect(Buffer.compare(await readExactly(it, n), data)).toBe(0);
  }
  await c.close();
  expect((await c.closed).reason).toBe('local');
  await l.close({ destroyConnections: true });
}

/**
 * A listener on `t` whose side never reads, and a client writing `chunkBytes`-byte chunks to it without end (waiting
 * on each drain promise): after `runMs` the writer must be parked, taking no more bytes for `holdMs`. `accepted`
 * counts the bytes `write` took, `maxQueued` is the most `queuedBytes` ever held, `stalledAt` what was accepted
 * when the writer stalled, `server()` the listener's connection (to read from); `destroy()` destroys the client,
 * expects the writer to fail, and closes the listener.
 */
export async function stalledWriter(t: Transport, chunkBytes: number, runMs: number, holdMs: number) {
  let server: Connection | undefined;
  const l = await t.listen({ host: '127.0.0.1', port: 0 }, (conn) => (server = conn));
  const c = await t.dial(l.address);
  const chunk = randomBytes(chunkBytes);
  let accepted = 0;
  let maxQueued = 0;
  const writer = (async (): Promise<never> => {
    for (;;) {
      const r = c.write(chunk);
      accepted += chunk.length;
      maxQueued = Math.max(maxQueued, c.queuedBytes);
      if (r !== true) await r;
    }
  })();
  writer.catch(() => {});
  await new Promise((r) => setTimeout(r, runMs));
  const stalledAt = accepted;
  await new Promise((r) => setTimeout(r, holdMs));
  expect(accepted).toBe(stalledAt); // the writer is parked on the drain promise
  return {
    stalledAt,
    accepted: () => accepted,
    maxQueued: () => maxQueued,
    server: () => server!,
    async destroy(): Promise<void> {
      c.destroy();
      await writer.then(
        () => expect.fail('writer should fail once destroyed'),
        (err: unknown) => expect(err).toBeInstanceOf(Error),
      );
      await l.close({ destroyConnections: true });
    },
  };
}

/** A dial to `port`, where nobody completes a handshake, fails TIMEOUT after `timeoutMs`, and ABORTED on a signal. */
export async function expectDialTimesOutAndAborts(t: Transport, port: number, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  const err = await t.dial({ host: '127.0.0.1', port }, { timeoutMs }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ScpError);
  expect((err as ScpError).code).toBe('TIMEOUT');
  expect(Date.now() - t0).toBeLessThan(2_000);

  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  const err2 = await t.dial({ host: '127.0.0.1', port }, { signal: ac.signal }).catch((e: unknown) => e);
  expect((err2 as ScpError).code).toBe('ABORTED');
  const err3 = await t.dial({ host: '127.0.0.1', port }, { signal: AbortSignal.abort() }).catch((e: unknown) => e);
  expect((err3 as ScpError).code).toBe('ABORTED');
}

/**
 * In a child `node` running the transpiled transport (`file` exports `className`): an echo listener, one
 * connection closed after a write, one destroyed with a long idle timer armed (then, with `awaitDestroyed`, its
 * `closed` awaited), the listener closed; expects the child to print `done` and exit by itself, quietly.
 */
export async function expectNoHandleLeft(file: string, className: string, timeoutMs: number, awaitDestroyed = false): Promise<void> {
  const dir = transpiledTransportDir();
  const code = `
      import { ${className} } from ${JSON.stringify(`${dir}/${file}`)};
      const t = new ${className}();
      const l = await t.listen({ host: '127.0.0.1', port: 0 }, async (c) => {
        try { for await (const b of c) await c.write(b); await c.close(); } catch (e) { c.destroy(); }
      });
      const a = await t.dial(l.address); await a.write(new Uint8Array(100000)); await a.close();
      const b = await t.dial(l.address); b.setIdleTimeout(60000); await b.write(new Uint8Array(10)); b.destroy();${awaitDestroyed ? ' await b.closed;' : ''}
      await l.close({ destroyConnections: true });
      console.log('done');
    `;
  const r = await runChild(code, timeoutMs);
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toBe('done');
  expect(r.code).toBe(0);
}
