import { randomBytes, X509Certificate } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { ScpError } from '../../../../src/errors.js';
import { processCertificate, certificateMatchesKey, generateSelfSignedCertificate } from '../../../../src/actors/session/transport/certs.js';
import { TlsTransport } from '../../../../src/actors/session/transport/tls-transport.js';
import type { Connection } from '../../../../src/actors/session/transport/transport.js';
import { echoListener, readExactly, removeTranspiled, runChild, sendAll, sha256, transpiledTransportDir } from './transport-harness.js';

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
    const l = await echoListener(t);
    const c = await t.dial(l.address);
    expect(c.kind).toBe('tcp');
    expect(c.remoteAddress).toEqual(l.address);
    const it = c[Symbol.asyncIterator]();
    for (const n of [1, 4, 1000, 16_384, 16_385, 300_000, 2 * 1024 * 1024 + 4]) {
      const data = randomBytes(n);
      await sendAll(c, data, 7_919);
      expect(Buffer.compare(await readExactly(it, n), data)).toBe(0);
    }
    await c.close();
    expect((await c.closed).reason).toBe('local');
    await l.close({ destroyConnections: true });
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
    let server: Connection | undefined;
    const l = await t.listen({ host: '127.0.0.1', port: 0 }, (conn) => (server = conn));
    const c = await t.dial(l.address);
    const chunk = randomBytes(256 * 1024);
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
    await new Promise((r) => setTimeout(r, 400));
    const stalledAt = accepted;
    await new Promise((r) => setTimeout(r, 300));
    expect(accepted).toBe(stalledAt); // the writer is parked on the drain promise
    expect(maxQueued).toBeLessThanOrEqual(64 * 1024 + chunk.length);
    // kernel socket buffers hold some; everything else must be in userland queues, which are bounded above
    expect(accepted).toBeLessThan(64 * 1024 * 1024);
    // once the reader reads, the writer moves again
    const it = server![Symbol.asyncIterator]();
    let read = 0;
    while (read < stalledAt + 4 * chunk.length) read += (await it.next()).value!.length;
    expect(accepted).toBeGreaterThan(stalledAt);
    c.destroy();
    await writer.then(
      () => expect.fail('writer should fail once destroyed'),
      (err: unknown) => expect(err).toBeInstanceOf(Error),
    );
    await l.close({ destroyConnections: true });
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

  it('dial times out against a server that never finishes the TLS handshake', async () => {
    const accepted = new Set<net.Socket>();
    const mute = net.createServer((s) => accepted.add(s));
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    const port = (mute.address() as net.AddressInfo).port;
    const t0 = Date.now();
    const err = await t.dial({ host: '127.0.0.1', port }, { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScpError);
    expect((err as ScpError).code).toBe('TIMEOUT');
    expect(Date.now() - t0).toBeLessThan(2_000);

    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const err2 = await t.dial({ host: '127.0.0.1', port }, { signal: ac.signal }).catch((e: unknown) => e);
    expect((err2 as ScpError).code).toBe('ABORTED');
    const err3 = await t.dial({ host: '127.0.0.1', port }, { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect((err3 as ScpError).code).toBe('ABORTED');
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
    const dir = transpiledTransportDir();
    const code = `
      import { TlsTransport } from ${JSON.stringify(dir + '/tls-transport.js')};
      const t = new TlsTransport();
      const l = await t.listen({ host: '127.0.0.1', port: 0 }, async (c) => {
        try { for await (const b of c) await c.write(b); await c.close(); } catch (e) { c.destroy(); }
      });
      const a = await t.dial(l.address); await a.write(new Uint8Array(100000)); await a.close();
      const b = await t.dial(l.address); b.setIdleTimeout(60000); await b.write(new Uint8Array(10)); b.destroy();
      await l.close({ destroyConnections: true });
      console.log('done');
    `;
    const r = await runChild(code, 8_000);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('done');
    expect(r.code).toBe(0);
  });
});
