import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseBootstrapPeer, parseBootstrapPeers } from '../../../src/actors/session/bootstrap.js';
import { ScpError } from '../../../src/errors.js';
import { peerAddrKey } from '../../../src/protocol/peer-addr.js';

const KEY = 'ab'.repeat(32);

describe('bootstrap strings', () => {
  it('parses the three forms and the optional key', () => {
    expect(parseBootstrapPeer('quic://1.2.3.4:7000')).toEqual({ ip: '1.2.3.4', port: 7000, transport: 'quic', pubkeyHint: null });
    expect(parseBootstrapPeer('tcp://1.2.3.4:7001')).toMatchObject({ transport: 'tcp', port: 7001 });
    expect(parseBootstrapPeer('10.0.0.1:7001')).toMatchObject({ ip: '10.0.0.1', transport: 'tcp' });
    const p = parseBootstrapPeer(`tcp://1.2.3.4:7001@${KEY}`);
    expect(Buffer.from(p.pubkeyHint!).toString('hex')).toBe(KEY);
    expect(parseBootstrapPeer('[::1]:7001')).toMatchObject({ ip: '::1', port: 7001, transport: 'tcp' });
    expect(parseBootstrapPeer(`quic://[2001:db8:0:0::1]:9@${KEY.toUpperCase()}`)).toMatchObject({ ip: '2001:db8::1', port: 9 });
  });

  it('refuses garbage with BAD_INPUT', () => {
    for (const bad of [
      '', 'x', 'udp://1.2.3.4:1', 'example.com:7001', '1.2.3.4', '1.2.3.4:0', '1.2.3.4:65536', '1.2.3.4:99999999',
      '::1:7001', '[1.2.3.4]:7001', `1.2.3.4:7001@${KEY.slice(2)}`, '1.2.3.4:7001@', '256.1.1.1:1', 'tcp://:7001',
    ]) {
      try {
        parseBootstrapPeer(bad);
        expect.unreachable(bad);
      } catch (e) {
        expect(e).toBeInstanceOf(ScpError);
        expect((e as ScpError).code).toBe('BAD_INPUT');
      }
    }
  });

  it('alternate-transport rule: QUIC→TCP at port+1, TCP→QUIC at port−1, TCP first, deduplicated', () => {
    const out = parseBootstrapPeers(['quic://1.1.1.1:7000', 'tcp://2.2.2.2:7001', '1.1.1.1:7001'], { alternateTransports: true });
    expect(out.map(peerAddrKey)).toEqual(['1.1.1.1:7001:Tcp', '2.2.2.2:7001:Tcp', '1.1.1.1:7000:Quic', '2.2.2.2:7000:Quic']);
    expect(parseBootstrapPeers(['quic://1.1.1.1:65535', 'tcp://1.1.1.1:1'], { alternateTransports: true }).map(peerAddrKey)).toEqual([
      '1.1.1.1:1:Tcp',
      '1.1.1.1:65535:Quic',
    ]);
    expect(parseBootstrapPeers(['quic://1.1.1.1:7000']).map(peerAddrKey)).toEqual(['1.1.1.1:7000:Quic']);
  });

  it('property: any string parses or throws BAD_INPUT, nothing else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^(tcp:\/\/|quic:\/\/)?[0-9.:[\]a-f]{0,20}(@[0-9a-f]{0,66})?$/)), (s) => {
        try {
          const p = parseBootstrapPeer(s);
          expect(p.port).toBeGreaterThan(0);
        } catch (e) {
          expect((e as ScpError).code).toBe('BAD_INPUT');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('property: ipv4 round trip', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 1, max: 65535 }), fc.boolean(), (ip, port, quic) => {
        const p = parseBootstrapPeer(`${quic ? 'quic://' : ''}${ip}:${port}`);
        expect(p).toEqual({ ip, port, transport: quic ? 'quic' : 'tcp', pubkeyHint: null });
      }),
    );
  });
});
