/**
 * What our QUIC server does with a client that offers no ALPN, as every reference (quinn + rustls) client does
 * (PROTOCOL.md §4.2). Findings in docs/QUIC.md; if the dependency ever accepts such clients, these flip.
 */
import { createHmac, randomBytes } from 'node:crypto';
import Logger, { LogLevel } from '@matrixai/logger';
import { QUICServer } from '@matrixai/quic';
import { describe, expect, it } from 'vitest';
import { processCertificate } from '../../../../src/actors/session/transport/certs.js';
import { QuicTransport } from '../../../../src/actors/session/transport/quic-transport.js';
import { initialKeys, probeQuicServer } from './quic-initial-probe.js';

describe('QUIC and ALPN', () => {
  it('the probe derives the RFC 9001 Appendix A initial keys', () => {
    const k = initialKeys(Buffer.from('8394c8f03e515708', 'hex'), 'client');
    expect(k.key.toString('hex')).toBe('1f369613dd76d5467730efcbe3b1a22d');
    expect(k.iv.toString('hex')).toBe('fa044b2f42a3fd3b46fb255c');
    expect(k.hp.toString('hex')).toBe('9f50449e04a0e810283a1e9933adedd2');
  });

  it('control: a hand-made ClientHello offering our ALPN gets a ServerHello', async () => {
    const l = await new QuicTransport().listen({ host: '127.0.0.1', port: 0 }, () => {});
    try {
      expect(await probeQuicServer('127.0.0.1', l.address.port, ['scp2p'])).toEqual({ kind: 'server-hello' });
    } finally {
      await l.close({ destroyConnections: true });
    }
  });

  it('a ClientHello with no ALPN extension (a reference client) is refused with no_application_protocol (0x178)', async () => {
    const l = await new QuicTransport().listen({ host: '127.0.0.1', port: 0 }, () => {});
    try {
      expect(await probeQuicServer('127.0.0.1', l.address.port, undefined)).toEqual({ kind: 'connection-close', errorCode: 0x178 });
    } finally {
      await l.close({ destroyConnections: true });
    }
  });

  it('a server configured with NO ALPN (as the reference) refuses a no-ALPN ClientHello all the same', async () => {
    const cert = processCertificate();
    const key = randomBytes(32);
    const mac = (k: ArrayBuffer, d: ArrayBuffer): Buffer => createHmac('sha256', Buffer.from(k)).update(Buffer.from(d)).digest();
    const server = new QUICServer({
      crypto: {
        key: key.buffer.slice(key.byteOffset, key.byteOffset + 32) as ArrayBuffer,
        ops: {
          sign: async (k, d) => new Uint8Array(mac(k, d)).buffer,
          verify: async (k, d, sig) => mac(k, d).equals(Buffer.from(sig)),
        },
      },
      config: { key: cert.keyPem, cert: cert.certPem, verifyPeer: false, applicationProtos: [] },
      logger: new Logger('probe', LogLevel.SILENT),
    });
    await server.start({ host: '127.0.0.1', port: 0 });
    try {
      expect(await probeQuicServer('127.0.0.1', server.port, undefined)).toEqual({ kind: 'connection-close', errorCode: 0x178 });
    } finally {
      await server.stop({ force: true });
    }
  });
});
