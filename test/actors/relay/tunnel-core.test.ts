import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TunnelCore, TunnelText, type TunnelEffect } from '../../../src/actors/relay/tunnel-core.js';
import { decodeEnvelope, encodeEnvelope, errorEnvelope, errorText, isError, responseEnvelope, type Envelope } from '../../../src/protocol/envelope.js';
import { relayStreamCodec, type RelayStream } from '../../../src/protocol/relay-messages.js';
import { MessageType } from '../../../src/protocol/registry.js';

const SLOT = 0xfedcba9876543210n;
const TUN = 1;
const inner = (reqId: number): Uint8Array =>
  encodeEnvelope({ type: MessageType.GET_CHUNK, reqId, flags: 0, payload: Uint8Array.of(0xa0) });
const innerResp = (reqId: number, tag: number): Uint8Array => encodeEnvelope(responseEnvelope(MessageType.CHUNK_DATA, reqId, Uint8Array.of(tag)));
const stream = (payload: Uint8Array, streamId = 0): RelayStream => ({ relaySlotId: SLOT, streamId, kind: 'content', payload });

function drain(core: TunnelCore): TunnelEffect[] {
  const out: TunnelEffect[] = [];
  for (let e = core.pollEffect(); e; e = core.pollEffect()) out.push(e);
  return out;
}
const replies = (es: TunnelEffect[]) => es.filter((e): e is Extract<TunnelEffect, { kind: 'reply' }> => e.kind === 'reply');
const sends = (es: TunnelEffect[]) => es.filter((e): e is Extract<TunnelEffect, { kind: 'tunnel-send' }> => e.kind === 'tunnel-send');
const unwrap = (env: Envelope): Envelope => decodeEnvelope(relayStreamCodec.decode(env.payload).payload);

describe('TunnelCore', () => {
  it('forwards the inner request unchanged and wraps the inner response with the outer req_id', () => {
    const c = new TunnelCore();
    expect(c.open(TUN, SLOT, 0)).toBe(true);
    const req = inner(10_000);
    c.forward(50, 77, stream(req, 3), 0);
    const [send] = sends(drain(c));
    expect(send).toMatchObject({ conn: TUN, slotId: SLOT });
    expect(send!.bytes).toEqual(req);
    c.handleTunnelResponse(TUN, innerResp(10_000, 9), 5);
    const [r] = replies(drain(c));
    expect(r!.conn).toBe(50);
    expect(r!.envelope).toMatchObject({ type: 453, reqId: 77, flags: 1 });
    const outer = relayStreamCodec.decode(r!.envelope.payload);
    expect(outer).toMatchObject({ relaySlotId: SLOT, streamId: 3, kind: 'content' });
    expect(outer.payload).toEqual(innerResp(10_000, 9));
  });

  it('passes an inner error envelope (flags 3) inside a successful outer response', () => {
    const c = new TunnelCore();
    c.open(TUN, SLOT, 0);
    c.forward(50, 1, stream(inner(5)), 0);
    drain(c);
    c.handleTunnelResponse(TUN, encodeEnvelope(errorEnvelope(MessageType.GET_CHUNK, 5, 'chunk not found')), 1);
    const [r] = replies(drain(c));
    expect(r!.envelope.flags).toBe(1);
    const innerEnv = unwrap(r!.envelope);
    expect(isError(innerEnv)).toBe(true);
    expect(errorText(innerEnv)).toBe('chunk not found');
  });

  it('answers relay-side failures with outer error envelopes', () => {
    const c = new TunnelCore({ queueDepth: 1, maxInFlight: 1 });
    c.forward(50, 1, stream(inner(1)), 0);
    expect(errorText(replies(drain(c))[0]!.envelope)).toBe(TunnelText.notFound(SLOT));
    c.open(TUN, SLOT, 0);
    c.forward(50, 2, stream(Uint8Array.of(1, 2, 3)), 0);
    const bad = replies(drain(c))[0]!.envelope;
    expect(bad).toMatchObject({ type: 453, reqId: 2, flags: 3 });
    expect(errorText(bad)).toMatch(/^relay tunnel: bad inner envelope/);
    c.forward(50, 3, stream(innerResp(1, 1)), 0);
    expect(errorText(replies(drain(c))[0]!.envelope)).toMatch(/not a request/);
    c.forward(50, 4, stream(inner(4)), 0); // in flight
    c.forward(50, 5, stream(inner(5)), 0); // queued
    c.forward(50, 6, stream(inner(6)), 0); // queue full
    const es = replies(drain(c));
    expect(es.map((e) => e.envelope.reqId)).toEqual([6]);
    expect(errorText(es[0]!.envelope)).toBe(TunnelText.queueFull(SLOT));
  });

  it('holds 32 waiting requests by default', () => {
    const c = new TunnelCore({ maxInFlight: 1 });
    c.open(TUN, SLOT, 0);
    for (let i = 0; i < 34; i++) c.forward(50, i, stream(inner(i)), 0);
    const es = drain(c);
    expect(sends(es)).toHaveLength(1);
    expect(replies(es).map((e) => e.envelope.reqId)).toEqual([33]);
  });

  it('a tunnel that closes fails its pending requests; a broken response closes the tunnel', () => {
    const c = new TunnelCore();
    c.open(TUN, SLOT, 0);
    c.forward(50, 1, stream(inner(1)), 0);
    c.forward(51, 2, stream(inner(2)), 0);
    drain(c);
    c.handleTunnelResponse(TUN, innerResp(2, 0), 1); // out of order
    const es = drain(c);
    expect(es.find((e) => e.kind === 'tunnel-close')).toMatchObject({ conn: TUN, slotId: SLOT });
    expect(replies(es).map((e) => [e.envelope.reqId, errorText(e.envelope)])).toEqual([
      [1, TunnelText.closed(SLOT)],
      [2, TunnelText.closed(SLOT)],
    ]);
    expect(c.hasTunnel(SLOT)).toBe(false);
  });

  it('paces a capped tunnel: the next write waits for the bucket', () => {
    const c = new TunnelCore({ maxInFlight: 1, caps: { perTunnelBytesPerSecond: 1000 } });
    c.open(TUN, SLOT, 0);
    c.forward(50, 1, stream(inner(1)), 0);
    c.forward(50, 2, stream(inner(2)), 0);
    drain(c);
    c.handleTunnelResponse(TUN, encodeEnvelope(responseEnvelope(501, 1, new Uint8Array(2000))), 0);
    expect(sends(drain(c))).toHaveLength(0);
    const at = c.nextDeadline()!;
    expect(at).toBeGreaterThan(1000);
    c.handleTimeout(at);
    expect(sends(drain(c))).toHaveLength(1);
  });

  it('property: any interleaving of arrivals and answers yields every answer in order, to the right requester', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.boolean(), { minLength: 200, maxLength: 200 }),
        (n, maxInFlight, coin) => {
          const c = new TunnelCore({ maxInFlight, queueDepth: 64 });
          c.open(TUN, SLOT, 0);
          let next = 0;
          const written: number[] = [];
          const got: { conn: number; reqId: number; innerReq: number; tag: number }[] = [];
          let answered = 0;
          let k = 0;
          const collect = () => {
            for (const e of drain(c)) {
              if (e.kind === 'tunnel-send') written.push(decodeEnvelope(e.bytes).reqId);
              else if (e.kind === 'reply') {
                expect(e.envelope.flags).toBe(1);
                const inn = unwrap(e.envelope);
                got.push({ conn: e.conn, reqId: e.envelope.reqId, innerReq: inn.reqId, tag: inn.payload[0]! });
              } else throw new Error('unexpected close');
            }
          };
          while (answered < n) {
            const arrive = next < n && (coin[k++ % coin.length] || answered >= written.length);
            if (arrive) {
              c.forward(100 + (next % 3), 1000 + next, stream(inner(5000 + next), next), k);
              next++;
            } else {
              c.handleTunnelResponse(TUN, innerResp(written[answered]!, answered % 256), k);
              answered++;
            }
            collect();
          }
          expect(got.map((g) => g.reqId)).toEqual(Array.from({ length: n }, (_, i) => 1000 + i));
          got.forEach((g, i) => {
            expect(g.conn).toBe(100 + (i % 3));
            expect(g.innerReq).toBe(5000 + i);
            expect(g.tag).toBe(i % 256);
          });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('property: timeouts fail exactly the requests older than 30 s; late answers are dropped, later ones still match', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 20 }), fc.integer({ min: 0, max: 60_000 }), (gaps, answerDelay) => {
        const c = new TunnelCore({ maxInFlight: 4, queueDepth: 64 });
        c.open(TUN, SLOT, 0);
        const accepted: number[] = [];
        const written: number[] = [];
        const timedOut = new Set<number>();
        const closedFail = new Set<number>();
        const ok = new Set<number>();
        let closed = false;
        const collect = (at: number) => {
          for (const e of drain(c)) {
            if (e.kind === 'tunnel-send') written.push(decodeEnvelope(e.bytes).reqId);
            else if (e.kind === 'tunnel-close') closed = true;
            else if (errorText(e.envelope) === TunnelText.closed(SLOT)) closed = true, closedFail.add(e.envelope.reqId);
            else if (e.envelope.flags === 1) {
              expect(unwrap(e.envelope).reqId).toBe(e.envelope.reqId);
              ok.add(e.envelope.reqId);
            } else if (errorText(e.envelope) === TunnelText.timedOut(SLOT)) {
              expect(at - accepted[e.envelope.reqId]!).toBeGreaterThanOrEqual(30_000);
              timedOut.add(e.envelope.reqId);
            } else {
              expect([TunnelText.closed(SLOT), TunnelText.notFound(SLOT)]).toContain(errorText(e.envelope));
              expect(closed).toBe(true);
              closedFail.add(e.envelope.reqId);
            }
          }
        };
        const advance = (to: number) => {
          for (let d = c.nextDeadline(); d !== undefined && d <= to; d = c.nextDeadline()) {
            c.handleTimeout(d);
            collect(d);
          }
        };
        let now = 0;
        gaps.forEach((g, i) => {
          now += g;
          advance(now);
          accepted.push(now);
          c.forward(9, i, stream(inner(i)), now);
          collect(now);
        });
        const end = now + answerDelay;
        advance(end);
        // Nothing younger than 30 s has timed out, and nothing older is still pending.
        accepted.forEach((t, i) => {
          if (end - t >= 30_000) expect(timedOut.has(i) || closedFail.has(i)).toBe(true);
          else if (!closed) expect(timedOut.has(i)).toBe(false);
        });
        if (closed) return;
        // Answer everything written, in order: exactly the survivors complete.
        for (let i = 0; i < written.length; i++) {
          c.handleTunnelResponse(TUN, innerResp(written[i]!, 0), end);
          collect(end);
        }
        for (let i = 0; i < gaps.length; i++) expect(ok.has(i)).toBe(!timedOut.has(i));
      }),
      { numRuns: 200 },
    );
  });

  it('closes a tunnel that stays silent for two timeouts', () => {
    const c = new TunnelCore();
    c.open(TUN, SLOT, 0);
    c.forward(9, 1, stream(inner(1)), 0);
    drain(c);
    c.handleTimeout(30_000);
    expect(replies(drain(c))).toHaveLength(1);
    c.handleTimeout(60_000);
    expect(drain(c).some((e) => e.kind === 'tunnel-close')).toBe(true);
    expect(c.nextDeadline()).toBeUndefined();
  });
});
