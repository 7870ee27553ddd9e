import { randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import { afterAll, describe, expect, it } from 'vitest';
import { ScpError } from '../../../../src/errors.js';
import { checkAlpn, QuicTransport } from '../../../../src/actors/session/transport/quic-transport.js';
import type { Connection } from '../../../../src/actors/session/transport/transport.js';
import { echoListener, readExactly, removeTranspiled, runChild, sendAll, sha256, transpiledTransportDir } from './transport-harness.js';

afterAll(() => removeTranspiled());

describe('QUIC transport', () => {
  const t = new QuicTransport();

  it('echoes random payloads byte for byte over the one bidirectional stream', async () => {
    const l = await echoListener(t);
    const c = await t.dial(l.address);
    expect(c.kind).toBe('quic');
    expect(c.remoteAddress).toEqual(l.address);
    const it = c[Symbol.asyncIterator]();
    for (const n of [1, 4, 1000, 16_383, 16_385, 300_000, 2 * 1024 * 1024 + 4]) {
      const data = randomBytes(n);
      await sendAll(c, data, 7_919);
      expect(Buffer.compare(await readExactly(it, n), data)).toBe(0);
    }
    await c.close();
    expect((await c.closed).reason).toBe('local');
    await l.close({ destroyConnections: true });
  });

  it('carries 24 MiB intact (sha256 at the receiver)', async () => {
    let got: Promise<string> | undefined;
    const l = await t.listen({ host: '127.0.0.1', port: 0 }, (conn) => {
      got = (async () => {
        const parts: Uint8Array[] = [];
        for await (const b of conn) parts.push(b);
        await conn.close();
        return sha256(Buffer.concat(parts));
      })();
    });
    const c = await t.dial(l.address);
    const data = randomBytes(24 * 1024 * 1024);
    await sendAll(c, data, 256 * 1024);
    await c.close();
    expect(await got).toBe(sha256(data));
    await l.close({ destroyConnections: true });
  });

  it('a reader that does not read stops the writer: queued bytes stay bounded', async () => {
    let server: Connection | undefined;
    const window = 1024 * 1024;
    const tw = new QuicTransport({ streamWindow: window });
    const l = await tw.listen({ host: '127.0.0.1', port: 0 }, (conn) => (server = conn));
    const c = await tw.dial(l.address);
    const chunk = randomBytes(128 * 1024);
    let accepted = 0;
    let maxQueued = 0;
    const writer = (async () => {
      for (;;) {
        const r = c.write(chunk);
        accepted += chunk.length;
        maxQueued = Math.max(maxQueued, c.queuedBytes);
        if (r !== true) await r;
      }
    })();
    writer.catch(() => {});
    await new Promise((r) => setTimeout(r, 600));
    const stalledAt = accepted;
    await new Promise((r) => setTimeout(r, 400));
    expect(accepted).toBe(stalledAt);
    expect(maxQueued).toBeLessThanOrEqual(2 * chunk.length);
    // what left the writer sits in the peer's receive window plus quiche's send buffer: a few windows at most
    expect(accepted).toBeLessThan(8 * window);
    const it = server![Symbol.asyncIterator]();
    let read = 0;
    while (read < stalledAt) read += (await it.next()).value!.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(accepted).toBeGreaterThan(stalledAt);
    c.destroy();
    await writer.then(
      () => expect.fail('writer should fail once destroyed'),
      (err: unknown) => expect(err).toBeInstanceOf(Error),
    );
    await l.close({ destroyConnections: true });
  });

  it('dial times out (nobody answers) and honours AbortSignal', async () => {
    const mute = dgram.createSocket('udp4');
    await new Promise<void>((r) => mute.bind(0, '127.0.0.1', r));
    const port = mute.address().port;
    const t0 = Date.now();
    const err = await t.dial({ host: '127.0.0.1', port }, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect((err as ScpError).code).toBe('TIMEOUT');
    expect(Date.now() - t0).toBeLessThan(2_000);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const err2 = await t.dial({ host: '127.0.0.1', port }, { signal: ac.signal }).catch((e: unknown) => e);
    expect((err2 as ScpError).code).toBe('ABORTED');
    const err3 = await t.dial({ host: '127.0.0.1', port }, { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect((err3 as ScpError).code).toBe('ABORTED');
    mute.close();
  });

  it('an ALPN mismatch fails the dial with IO and crashes nothing', async () => {
    const l = await echoListener(t);
    const other = new QuicTransport({ alpn: ['not-scp2p'] });
    // quiche drains the refused connection (3 PTOs of the 333 ms default RTT) before the dial rejects: ~3 s
    const err = await other.dial(l.address, { timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect((err as ScpError).code).toBe('IO');
    expect((err as ScpError).message).toMatch(/refused our ALPN/);
    await l.close({ destroyConnections: true });
  });

  it('refuses an empty ALPN list before it reaches the native client', () => {
    expect(() => new QuicTransport({ alpn: [] })).toThrow(ScpError);
    expect(() => checkAlpn([''])).toThrow(/1..255/);
    expect(() => checkAlpn(['scp2p'])).not.toThrow();
  });

  it('(why the guard exists) the raw library with an empty client ALPN list kills the process', async () => {
    const r = await runChild(
      `
      import { QUICClient } from '@matrixai/quic';
      process.on('uncaughtException', (e) => { console.log('uncaught', e.constructor.name); process.exit(3); });
      try {
        await QUICClient.createQUICClient({ host: '127.0.0.1', port: 9, localHost: '127.0.0.1',
          crypto: { ops: { randomBytes: async () => {} } }, config: { verifyPeer: false, applicationProtos: [] } }, { timer: 1000 });
      } catch (e) { console.log('caught', e.constructor.name); process.exit(0); }
      `,
      10_000,
    );
    // Not catchable by try/catch around the call: it surfaces as an uncaught exception from an event handler.
    expect(r.stdout).toContain('uncaught ErrorQUICConnectionInternal');
    expect(r.code).toBe(3);
  });

  it('idle timeout fires and closes with reason idle', async () => {
    const l = await echoListener(t);
    const c = await t.dial(l.address);
    c.setIdleTimeout(150);
    expect((await c.closed).reason).toBe('idle');
    await l.close({ destroyConnections: true });
  });

  it('peer close ends iteration with reason remote', async () => {
    const l = await t.listen({ host: '127.0.0.1', port: 0 }, (conn) => {
      void (async () => {
        const it = conn[Symbol.asyncIterator]();
        await it.next(); // the client's first bytes open the stream
        await conn.close();
      })();
    });
    const c = await t.dial(l.address);
    await c.write(Uint8Array.of(1, 2, 3));
    const chunks: Uint8Array[] = [];
    for await (const ch of c) chunks.push(ch);
    expect(chunks).toEqual([]);
    expect((await c.closed).reason).toBe('remote');
    await l.close({ destroyConnections: true });
  });

  it('close and destroy leave no handle open (a child process exits by itself)', async () => {
    const dir = transpiledTransportDir();
    const code = `
      import { QuicTransport } from ${JSON.stringify(dir + '/quic-transport.js')};
      const t = new QuicTransport();
      const l = await t.listen({ host: '127.0.0.1', port: 0 }, async (c) => {
        try { for await (const b of c) await c.write(b); await c.close(); } catch (e) { c.destroy(); }
      });
      const a = await t.dial(l.address); await a.write(new Uint8Array(100000)); await a.close();
      const b = await t.dial(l.address); b.setIdleTimeout(60000); await b.write(new Uint8Array(10)); b.destroy(); await b.closed;
      await l.close({ destroyConnections: true });
      console.log('done');
    `;
    const r = await runChild(code, 15_000);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('done');
    expect(r.code).toBe(0);
  });
});
