import fc from 'fast-check';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { dialSource } from '../../../../src/actors/session/transport/dial-source.js';
import { TlsTransport } from '../../../../src/actors/session/transport/tls-transport.js';

describe('dial source address', () => {
  it('the listening host when it is one address of the target family and scope; otherwise the kernel picks', () => {
    expect(dialSource('127.0.1.5', '127.0.1.9')).toBe('127.0.1.5');
    expect(dialSource('10.0.0.2', '10.0.0.3')).toBe('10.0.0.2');
    expect(dialSource('10.0.0.2', '203.0.113.7')).toBe('10.0.0.2');
    expect(dialSource('0.0.0.0', '127.0.0.1')).toBeUndefined();
    expect(dialSource('::', '::1')).toBeUndefined();
    expect(dialSource('127.0.0.1', '10.0.0.3')).toBeUndefined(); // loopback cannot reach a LAN peer
    expect(dialSource('10.0.0.2', '127.0.0.1')).toBeUndefined();
    expect(dialSource('10.0.0.2', '2001:db8::1')).toBeUndefined(); // family differs
    expect(dialSource('::1', '::1')).toBe('::1');
    // NodeConfig.outgoingAddress wins whenever it is of the target's family.
    expect(dialSource('127.0.0.2', '127.0.0.1', '127.0.0.1')).toBe('127.0.0.1');
    expect(dialSource('0.0.0.0', '10.0.0.3', '10.0.0.9')).toBe('10.0.0.9');
    expect(dialSource('0.0.0.0', '::1', '10.0.0.9')).toBeUndefined();
  });

  it('property: a source is only ever the host itself, of the target family', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('0.0.0.0', '::')), fc.oneof(fc.ipV4(), fc.ipV6()), (host, target) => {
        const s = dialSource(host, target);
        if (s !== undefined) {
          expect(s).toBe(host);
          expect(net.isIP(s)).toBe(net.isIP(target));
        }
      }),
    );
  });

  it('a TLS dial with localHost leaves from that address (what the peer sees as our IP)', async () => {
    const t = new TlsTransport();
    const seen: string[] = [];
    const l = await t.listen({ host: '127.0.0.1', port: 0 }, (c) => {
      seen.push(c.remoteAddress.host);
    });
    try {
      const c = await t.dial({ host: '127.0.0.1', port: l.address.port }, { localHost: '127.0.0.7', timeoutMs: 5_000 });
      expect(c.localAddress.host).toBe('127.0.0.7');
      await c.write(new Uint8Array([0, 0, 0, 0]));
      for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(seen).toEqual(['127.0.0.7']);
      c.destroy();
    } finally {
      await l.close({ destroyConnections: true });
    }
  });
});
