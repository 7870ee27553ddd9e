import { randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import { afterAll, describe, expect, it } from 'vitest';
import { ScpError } from '../../../../src/errors.js';
import { checkAlpn, QuicTransport } from '../../../../src/actors/session/transport/quic-transport.js';
import { echoListener, expectDialTimesOutAndAborts, expectEchoes, expectNoHandleLeft, removeTranspiled, runChild, sendAll, sha256, stalledWriter } from './transport-harness.js';

afterAll(() => removeTranspiled());

describe('QUIC transport', () => {
  const t = new QuicTransport();

  it('echoes random payloads byte for byte over the one bidirectional stream', async () => {
    await expectEchoes(t, 'quic', [1, 4, 1000, 16_383, 16_385, 300_000, 2 * 1024 * 1024 + 4]);
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
    const window = 1024 * 1024;
    const chunk = 128 * 1024;
    const w = await stalledWriter(new QuicTransport({ streamWindow: window }), chunk, 600, 400);
    expect(w.maxQueued()).toBeLessThanOrEqual(2 * chunk);
    // what left the writer sits in the peer's receive window plus quiche's send buffer: a few windows at most
    expect(w.accepted()).toBeLessThan(8 * window);
    const it = w.server()[Symbol.asyncIterator]();
    let read = 0;
    while (read < w.stalledAt) read += (await it.next()).value!.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(w.accepted()).toBeGreaterThan(w.stalledAt);
    await w.destroy();
  });

  it('dial times out (nobody answers) and honours AbortSignal', async () => {
    const mute = dgram.createSocket('udp4');
    await new Promise<void>((r) => mute.bind(0, '127.0.0.1', r));
    await expectDialTimesOutAndAborts(t, mute.address().port, 300);
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
    await expectNoHandleLeft('quic-transport.js', 'QuicTransport', 15_000, true);
  });
});
