/**
 * SO_REUSEPORT listeners (serve threads): several sockets on one port, each its own; the kernel spreads
 * connections over them, closing one leaves the others accepting, and a listener without the option cannot join.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { reusePortFd, reusePortSupport } from '../../../../src/actors/session/transport/reuse-port.js';
import { TlsTransport } from '../../../../src/actors/session/transport/tls-transport.js';
import type { Listener } from '../../../../src/actors/session/transport/transport.js';

const supported = reusePortSupport() === undefined;

describe.skipIf(!supported)('reuse-port listeners', () => {
  it('two listeners share one port; each takes connections; closing one leaves the other serving', async () => {
    const t = new TlsTransport();
    const got = [0, 0];
    const a = await t.listen({ host: '127.0.0.1', port: 0, reusePort: 'new' }, (c) => {
      got[0]!++;
      c.destroy();
    });
    let b: Listener | undefined;
    try {
      const port = a.address.port;
      b = await t.listen({ host: '127.0.0.1', port, reusePort: 'join' }, (c) => {
        got[1]!++;
        c.destroy();
      });
      expect(b.address.port).toBe(port);
      // A listener without SO_REUSEPORT cannot bind the port the group holds, and neither can one that would
      // start a group of its own there (a second node on this node's port).
      await expect(t.listen({ host: '127.0.0.1', port }, () => {})).rejects.toThrow(/EADDRINUSE/);
      await expect(t.listen({ host: '127.0.0.1', port, reusePort: 'new' }, () => {})).rejects.toThrow(/EADDRINUSE/);

      // Each client stays open until its server side has seen the handshake end, then goes.
      const dialAll = async (n: number, want: number): Promise<void> => {
        const open = [];
        for (let i = 0; i < n; i++) open.push(await t.dial({ host: '127.0.0.1', port }, { timeoutMs: 5_000 }));
        for (let i = 0; i < 300 && got[0]! + got[1]! < want; i++) await new Promise((r) => setTimeout(r, 10));
        for (const c of open) c.destroy();
      };
      await dialAll(40, 40);
      expect(got[0]! + got[1]!).toBe(40);
      // Spread by the 4-tuple's hash over both: one of them taking all 40 has odds of 2^-39.
      expect(got[0]).toBeGreaterThan(0);
      expect(got[1]).toBeGreaterThan(0);

      await a.close({ destroyConnections: true });
      const before = got[1]!;
      await dialAll(10, 50);
      expect(got[1]! - before).toBe(10);
    } finally {
      await a.close({ destroyConnections: true });
      await b?.close({ destroyConnections: true });
    }
    // Nobody is left on the port.
    const refused = await new Promise<boolean>((resolve) => {
      const c = net.connect(a.address.port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(false);
      });
      c.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });

  it('refuses a host that is not an IP address, with a typed error', () => {
    expect(() => reusePortFd('localhost', 0)).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
  });
});
