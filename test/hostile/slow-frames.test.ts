/**
 * Slow and oversize frames. A slowloris peer (a frame's length prefix, then a byte every so often) was never
 * cut off before: every byte counted as activity and a partial frame is never idle, so it held a connection and
 * the body buffer sized by its prefix forever. Now a frame must complete within `frameTimeoutMs` (30 s by default,
 * `connectionLimits` in the node config) of its first byte, while we read, and a large frame's body is allocated
 * only once half of it has arrived (not at the announced size: 1,024 trickling connections announcing 2 MiB each
 * held 2 GiB). Oversize prefixes close at once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Node } from '../../src/index.js';
import { claimFrameBuffer, FrameReader } from '../../src/protocol/frame.js';
import { MessageType } from '../../src/protocol/registry.js';
import { pexOfferCodec, pexRequestCodec } from '../../src/protocol/pex.js';
import { Pair } from '../actors/session/pair.js';
import { tcpPort, WireClient } from './wire-client.js';

describe('what a trickled frame costs us', () => {
  it('an announced 2 MiB frame holds only what has arrived until half of it has; then it assembles whole and claimable', () => {
    const r = new FrameReader();
    const body = Uint8Array.from({ length: 2 * 1024 * 1024 }, (_, i) => (i * 13) & 0xff);
    r.push(Uint8Array.from([0x00, 0x20, 0x00, 0x00]));
    for (let i = 0; i < 1000; i++) r.push(body.subarray(i, i + 1)); // a slowloris' first thousand bytes
    expect(r.partialBytes).toBe(1004);
    expect(r.heldBytes).toBe(1000); // before: the whole 2 MiB body, allocated on the prefix
    for (let off = 1000; off < body.length; off += 16 * 1024) r.push(body.subarray(off, Math.min(body.length, off + 16 * 1024)));
    const f = r.pull()!;
    expect(f.length).toBe(body.length);
    expect(Buffer.compare(f, body)).toBe(0);
    expect(claimFrameBuffer(f)).toBe(true); // still its own exact-size buffer (transferred without a copy)
    expect(r.heldBytes).toBe(0);
  });
});

describe('slow frames in the connection core (virtual clock)', () => {
  const open = () => {
    const p = new Pair({ b: { limits: { frameTimeoutMs: 30_000 } } }).start();
    expect(p.b.core.state).toBe('open');
    return p;
  };
  const write = (p: Pair, bytes: number[]) => {
    p.b.core.handle({ kind: 'bytes', data: Uint8Array.from(bytes) }, p.now);
    p.drive();
  };

  it('a frame trickled a byte per second is cut off at 30 s as a peer fault, with nothing written', () => {
    const p = open();
    write(p, [0, 0, 4, 0]); // a 1 KiB frame announced
    for (let s = 0; s < 29; s++) {
      p.advance(1_000);
      write(p, [s]);
    }
    expect(p.b.core.state).toBe('open');
    const wrote = p.b.wire.length;
    p.advance(1_500);
    const [close] = p.take(p.b, 'close');
    expect(close?.reason).toMatchObject({ code: 'frame-timeout', peerFault: true, graceful: false });
    expect(close?.reason.error?.code).toBe('TIMEOUT');
    expect(p.b.wire.length).toBe(wrote);
  });

  /** A request of A's, its frame taken from A's queue to be delivered by the test (so A expects the answer). */
  const requestFromA = (p: Pair): Uint8Array => {
    const r = p.a.core.request({ type: MessageType.PEX_REQUEST, payload: pexRequestCodec.encode({ maxPeers: 4 }) }, p.now);
    expect(r.ok).toBe(true);
    return p.a.core.pollTransmit()!;
  };

  it('a whole request sent slowly but within the limit is answered, and each frame gets its own allowance', () => {
    const p = open();
    for (let round = 0; round < 3; round++) {
      const frame = requestFromA(p);
      for (const byte of frame) {
        p.advance(Math.floor(20_000 / frame.length));
        write(p, [byte]);
      }
      const [req] = p.take(p.b, 'inbound-request');
      expect(req?.request.type).toBe(MessageType.PEX_REQUEST);
      p.b.core.respond(req!.id, { payload: pexOfferCodec.encode({ peers: [] }) }, p.now);
      p.drive();
      expect(p.take(p.a, 'response')).toHaveLength(1);
    }
    expect(p.b.core.state).toBe('open');
    expect(p.take(p.b, 'close')).toEqual([]);
  });

  it('time our own read pause held the peer back does not count against it', () => {
    const p = new Pair({ b: { limits: { frameTimeoutMs: 30_000, maxInboundInFlight: 1 } } }).start();
    const req = requestFromA(p);
    write(p, [...req, 0, 0, 0, 20]); // one request (its handler is slow: reading pauses) and the next frame's prefix
    const [held] = p.take(p.b, 'inbound-request');
    expect(held).toBeDefined();
    p.advance(31_000); // 31 s paused: the handler answers only now (A's own request timer is 30 s: its stall grace covers it)
    expect(p.b.core.state).toBe('open');
    p.b.core.respond(held!.id, { payload: pexOfferCodec.encode({ peers: [] }) }, p.now);
    p.drive();
    p.advance(20_000);
    expect(p.b.core.state).toBe('open');
    p.advance(11_000);
    expect(p.take(p.b, 'close')[0]?.reason.code).toBe('frame-timeout');
  });
});

describe('slow and oversize frames against a live node', () => {
  const nodes: Node[] = [];
  const clients: WireClient[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('cuts a slowloris peer off after frameTimeoutMs while serving an honest peer, and drops an oversize prefix at once', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'scp2p-hostile-slow-'));
    dirs.push(dataDir);
    const a = await Node.start({
      dataDir,
      listen: { tcp: 0, quic: null },
      host: '127.0.0.1',
      connectionLimits: { frameTimeoutMs: 3_000 },
    });
    nodes.push(a);
    const port = tcpPort(a.addresses());

    // Attackers from addresses of their own: a cut costs its IP a second of the accept budget (abuse-guard.ts).
    const slow = await WireClient.connect(port, { localAddress: '127.0.0.66' });
    clients.push(slow);
    const t0 = Date.now();
    slow.writeRaw(Uint8Array.from([0, 0, 0x40, 0])); // a 16 KiB frame announced...
    const trickle = setInterval(() => !slow.isClosed && slow.sock.write(Uint8Array.from([7])), 700); // ...a byte every 0.7 s
    try {
      // An honest peer meanwhile: answered as usual.
      const honest = await WireClient.connect(port);
      clients.push(honest);
      for (let i = 0; i < 5; i++) {
        const r = await honest.request(MessageType.PEX_REQUEST, pexRequestCodec.encode({ maxPeers: 8 }));
        expect(r.error).toBeUndefined();
        expect(Array.isArray(pexOfferCodec.decode(r.payload).peers)).toBe(true);
      }
      await Promise.race([slow.closed, new Promise((r) => setTimeout(r, 15_000))]);
      expect(slow.isClosed).toBe(true);
      const after = slow.closedAt! - t0;
      expect(after).toBeGreaterThanOrEqual(2_900);
      expect(after).toBeLessThan(9_000); // 3 s, plus the timer's and a loaded machine's lateness
      expect(honest.isClosed).toBe(false);
    } finally {
      clearInterval(trickle);
    }
    // The slowloris IP's next connection is dropped before the TLS handshake (the cut cost it its accept budget).
    await expect(WireClient.connect(port, { localAddress: '127.0.0.66' })).rejects.toThrow();

    // An authenticated peer announcing a frame over the 2 MiB cap is dropped before any body is buffered.
    const big = await WireClient.connect(port, { localAddress: '127.0.0.67' });
    clients.push(big);
    const t1 = Date.now();
    big.writeRaw(Uint8Array.from([0x00, 0x20, 0x00, 0x01, 1, 2, 3]));
    await Promise.race([big.closed, new Promise((r) => setTimeout(r, 5_000))]);
    expect(big.isClosed).toBe(true);
    expect(big.closedAt! - t1).toBeLessThan(3_000);
    expect(a.health().actors.every((x) => x.restarts === 0)).toBe(true);
  }, 60_000);
});
