import { randomBytes, X509Certificate } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { ScpError } from '../../../../src/errors.js';
import { processCertificate, certificateMatchesKey, generateSelfSignedCertificate } from '../../../../src/actors/session/transport/certs.js';
import { TlsTransport } from '../../../../src/actors/session/transport/tls-transport.js';
import type { Connection } from '../../../../src/actors/session/transport/transport.js';
import { echoListener, expectDialTimesOutAndAborts, expectEchoes, expectNoHandleLeft, readExactly, removeTranspiled, sendAll, sha256, stalledWriter } from './transport-harness.js';

afterAll(() => removeTranspiled());

describe('certs', () => {
  it('makes a self-signed ECDSA P-256 certificate for localhost whose key matches', () => {
    const c = generateSelfSignedCertificate();
    expect(certificateMatchesKey(c)).toBe(true);
    const x = new X509Certificate(c.certPem);
    expect(x.subject).toBe('CN=localhost');
    expect(x.subjectAltName).toBe('DNS:localhost');
    expect(x.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(processCertificate()).toBe(processCertificate());
  });
});

describe('TLS transport', () => {
  const t = new TlsTransport();

  it('echoes random payloads byte for byte', async () => {
    await expectEchoes(t, 'tcp', [1, 4, 1000, 16_384, 16_385, 300_000, 2 * 1024 * 1024 + 4]);
  });

  it('carries 64 MiB intact (sha256 both ends)', async () => {
    const l = await echoListener(t);
    const c = await t.dial(l.address);
    const data = randomBytes(64 * 1024 * 1024);
    const [, back] = await Promise.all([
      sendAll(c, data, 256 * 1024),
      readExactly(c[Symbol.asyncIterator](), data.length),
    ]);
    expect(sha256(back)).toBe(sha256(data));
    expect(c.bytesRead).toBe(data.length);
    await c.close();
    await l.close({ destroyConnections: true });
  });

  it('a reader that does not read stops the writer: queued bytes stay bounded', async () => {
    const chunk = 256 * 1024;
    const w = await stalledWriter(t, chunk, 400, 300);
    expect(w.maxQueued()).toBeLessThanOrEqual(64 * 1024 + chunk);
    // kernel socket buffers hold some; everything else must be in userland queues, which are bounded above
    expect(w.accepted()).toBeLessThan(64 * 1024 * 1024);
    // once the reader reads, the writer moves again
    const it = w.server()[Symbol.asyncIterator]();
    let read = 0;
    while (read < w.stalledAt + 4 * chunk) read += (await it.next()).value!.length;
    expect(w.accepted()).toBeGreaterThan(w.stalledAt);
    await w.destroy();
  });

  describe('direct reads of dialed connections (readInto)', () => {
    /** A server that writes `data` the moment the TLS handshake is done (before the client reads), then ends. */
    async function eagerServer(data: Uint8Array): Promise<{ port: number; close(): Promise<void> }> {
      const cert = processCertificate();
      const raw = tls.createServer({ key: cert.keyPem, cert: cert.certPem, minVersion: 'TLSv1.3' }, (s) => {
        s.on('data', () => {});
        s.end(data);
      });
      await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
      return { port: (raw.address() as net.AddressInfo).port, close: () => new Promise<void>((r) => raw.close(() => r())) };
    }

    it('only dialed connections offer them; accepted ones read by push', async () => {
      let accepted: Connection | undefined;
      const l = await t.listen({ host: '127.0.0.1', port: 0 }, (c) => (accepted = c));
      const c = await t.dial(l.address);
      expect(typeof c.readInto).toBe('function');
      await new Promise((r) => setTimeout(r, 50));
      expect(accepted?.readInto).toBeUndefined();
      c.destroy();
      await l.close({ destroyConnections: true });
    });

    it('every byte in order, into targets of varying sizes, also what arrived before the reader attached', async () => {
      const data = randomBytes(3 * 1024 * 1024 + 77);
      const srv = await eagerServer(data);
      const c = await t.dial({ host: '127.0.0.1', port: srv.port });
      await new Promise((r) => setTimeout(r, 100)); // the server's bytes arrive before anyone reads
      const got = Buffer.alloc(data.length + 1);
      let fill = 0;
      let k = 0;
      let last: Uint8Array | undefined;
      const sizes = [1, 7, 100, 4096, 16_384, 70_000, 262_144];
      await new Promise<void>((resolve, reject) => {
        c.readInto!({
          target: () => (last = new Uint8Array(sizes[k++ % sizes.length] as number)),
          filled: (n) => {
            got.set((last as Uint8Array).subarray(0, n), fill);
            fill += n;
          },
          end: resolve,
          error: reject,
        });
      });
      expect(fill).toBe(data.length);
      expect(Buffer.compare(got.subarray(0, fill), data)).toBe(0);
      expect(c.bytesRead).toBe(data.length);
      await c.close();
      await srv.close();
    });

    it('pause stops the reads and resume brings them back', async () => {
      const data = randomBytes(8 * 1024 * 1024);
      const srv = await eagerServer(data);
      const c = await t.dial({ host: '127.0.0.1', port: srv.port });
      let fill = 0;
      let atPause = -1;
      const target = new Uint8Array(16_384);
      await new Promise<void>((resolve, reject) => {
        const ctl = c.readInto!({
          target: () => target,
          filled: (n) => {
            fill += n;
            if (atPause < 0 && fill >= 1024 * 1024) {
              atPause = fill;
              ctl.pause();
              setTimeout(() => {
                // TLS records already decrypted may still arrive, but the socket is no longer read
                expect(fill - atPause).toBeLessThan(512 * 1024);
                ctl.resume();
              }, 200);
            }
          },
          end: resolve,
          error: reject,
        });
      });
      expect(fill).toBe(data.length);
      await c.close();
      await srv.close();
    });

    it('iteration still works on a dialed connection (copies of the direct reads)', async () => {
      const data = randomBytes(1024 * 1024);
      const srv = await eagerServer(data);
      const c = await t.dial({ host: '127.0.0.1', port: srv.port });
      await new Promise((r) => setTimeout(r, 50));
      const back = await readExactly(c[Symbol.asyncIterator](), data.length);
      expect(sha256(back)).toBe(sha256(data));
      await c.close();
      await srv.close();
    });
  });

  it('speaks TLS 1.3 with SNI localhost and offers no ALPN', async () => {
    const cert = processCertificate();
    const seen: { protocol: string | null; servername: string | false | null | undefined; alpnAsked: boolean } = { protocol: null, servername: undefined, alpnAsked: false };
    const raw = tls.createServer({
      key: cert.keyPem,
      cert: cert.certPem,
      ALPNCallback: () => {
        seen.alpnAsked = true;
        return undefined;
      },
    } as tls.TlsOptions);
    raw.on('secureConnection', (s: tls.TLSSocket) => {
      seen.protocol = s.getProtocol();
      seen.servername = s.servername;
      s.end();
    });
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    const c = await t.dial({ host: '127.0.0.1', port: (raw.address() as net.AddressInfo).port });
    await c.close();
    await new Promise<void>((r) => raw.close(() => r()));
    expect(seen).toEqual({ protocol: 'TLSv1.3', servername: 'localhost', alpnAsked: false });
  });

  it('accepts a plain client that offers an ALPN list (server selects none)', async () => {
    const l = await echoListener(t);
    const s = tls.connect({ host: '127.0.0.1', port: l.address.port, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    await new Promise<void>((r) => s.once('secureConnect', r));
    expect(s.alpnProtocol).toBe(false);
    s.write('ping');
    const [echo] = (await Promise.race([new Promise((r) => s.once('data', (d) => r([d])))])) as [Buffer];
    expect(echo.toString()).toBe('ping');
    s.destroy();
    await l.close({ destroyConnections: true });
  });

  it('our listener chooses AES-128-GCM whenever the client offers it, whatever the client prefers', async () => {
    // node:tls servers pick by their own order among what the client offers (so that is where the choice is made;
    // our dials list the same order for servers that take the client's, as rustls does).
    const l = await echoListener(t);
    const cipherFrom = async (ciphers?: string): Promise<string> => {
      const s = tls.connect({ host: '127.0.0.1', port: l.address.port, rejectUnauthorized: false, ...(ciphers ? { ciphers } : {}) });
      await new Promise<void>((r) => s.once('secureConnect', r));
      const name = s.getCipher().name;
      s.destroy();
      return name;
    };
    try {
      expect(await cipherFrom()).toBe('TLS_AES_128_GCM_SHA256'); // node:tls defaults: AES-256 first
      expect(await cipherFrom('TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256')).toBe('TLS_AES_128_GCM_SHA256');
      expect(await cipherFrom('TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384')).toBe('TLS_AES_256_GCM_SHA384');
      expect(await cipherFrom('TLS_CHACHA20_POLY1305_SHA256')).toBe('TLS_CHACHA20_POLY1305_SHA256');
    } finally {
      await l.close({ destroyConnections: true });
    }
  });

  it('dial times out against a server that never finishes the TLS handshake', async () => {
    const accepted = new Set<net.Socket>();
    const mute = net.createServer((s) => accepted.add(s));
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    await expectDialTimesOutAndAborts(t, (mute.address() as net.AddressInfo).port, 200);
    mute.close();
    for (const s of accepted) s.destroy();
  });

  it('dial to a closed port fails with IO', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const err = await t.dial({ host: '127.0.0.1', port }).catch((e: unknown) => e);
    expect((err as ScpError).code).toBe('IO');
  });

  it('idle timeout fires and closes with reason idle; a custom hook replaces the default', async () => {
    const l = await echoListener(t);
    const c = await t.dial(l.address);
    c.setIdleTimeout(150);
    const info = await c.closed;
    expect(info.reason).toBe('idle');
    const c2 = await t.dial(l.address);
    const fired = new Promise<void>((r) => c2.setIdleTimeout(100, r));
    await fired;
    expect(c2.queuedBytes).toBe(0);
    c2.destroy();
    await l.close({ destroyConnections: true });
  });

  it('peer close ends iteration; reason remote', async () => {
    let server: Connection | undefined;
    const l = await t.listen({ host: '127.0.0.1', port: 0 }, (conn) => {
      server = conn;
      void conn.close();
    });
    const c = await t.dial(l.address);
    const chunks: Uint8Array[] = [];
    for await (const ch of c) chunks.push(ch);
    expect(chunks).toEqual([]);
    expect((await c.closed).reason).toBe('remote');
    expect((await server!.closed).reason).toBe('local');
    await expect(c.write(Uint8Array.of(1))).rejects.toBeInstanceOf(Error);
    await l.close();
  });

  it('close and destroy leave no handle open (a child process exits by itself)', async () => {
    await expectNoHandleLeft('tls-transport.js', 'TlsTransport', 8_000);
  });
});
