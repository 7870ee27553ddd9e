import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../src/actors/session/rate-limiter.js';
import { decodeEnvelope, encodeEnvelope, encodeEnvelopeFrame, FLAG_RESPONSE } from '../../../src/protocol/envelope.js';
import { FrameReader } from '../../../src/protocol/frame.js';
import { NonceTracker } from '../../../src/protocol/handshake.js';
import { MessageType } from '../../../src/protocol/registry.js';
import { getChunkCodec, getManifestCodec } from '../../../src/protocol/transfer-messages.js';
import { relayStreamCodec } from '../../../src/protocol/relay-messages.js';
import { pexOfferCodec } from '../../../src/protocol/pex.js';
import { Pair, T0 } from './pair.js';

const getManifest = (n: number) => getManifestCodec.encode({ manifestId: new Uint8Array(32).fill(n) });
const TEXT = new TextDecoder();

function open(opts: ConstructorParameters<typeof Pair>[0] = {}): Pair {
  const p = new Pair(opts).start();
  expect(p.take(p.a, 'established')).toHaveLength(1);
  expect(p.take(p.b, 'established')).toHaveLength(1);
  return p;
}

describe('ConnectionCore: handshake', () => {
  it('completes the 3-message handshake and binds identities and the session secret', () => {
    const p = new Pair().start();
    const [ea] = p.take(p.a, 'established');
    const [eb] = p.take(p.b, 'established');
    expect(ea!.session.remoteNodePubkey).toEqual(Pair.pubkey(2));
    expect(eb!.session.remoteNodePubkey).toEqual(Pair.pubkey(1));
    expect(ea!.session.sessionSecret).toEqual(eb!.session.sessionSecret);
    expect(ea!.identity).toBe(`pubkey:${Buffer.from(Pair.pubkey(2)).toString('hex')}`);
    expect(eb!.session.remoteCapabilities.dht).toBe(false);
    expect(ea!.session.remoteCapabilities.dht).toBe(true);
    // three frames: ClientHello, ServerHello, ClientAck
    expect(p.a.wire).toHaveLength(2);
    expect(p.b.wire).toHaveLength(1);
    expect(p.a.core.state).toBe('open');
  });

  it('refuses a wrong identity with pubkey_mismatch', () => {
    const p = new Pair({ a: { expectedRemotePubkey: Pair.pubkey(9) } }).start();
    const [c] = p.take(p.a, 'close');
    expect(c!.reason).toMatchObject({ code: 'handshake-failed', handshakeFailure: 'pubkey_mismatch', peerFault: true, graceful: false });
    expect(p.b.closed).toBe(true);
    expect(p.take(p.b, 'close')[0]!.reason.code).toBe('transport-error');
  });

  it('the responder checks an expected key too', () => {
    const p = new Pair({ b: { expectedRemotePubkey: Pair.pubkey(9) } }).start();
    expect(p.take(p.b, 'close')[0]!.reason).toMatchObject({ code: 'handshake-failed', handshakeFailure: 'pubkey_mismatch' });
  });

  it('refuses a replayed ClientHello with the listener-wide nonce tracker', () => {
    const tracker = new NonceTracker();
    const p1 = new Pair({ bComponents: { nonceTracker: tracker } }).start();
    expect(p1.take(p1.b, 'established')).toHaveLength(1);
    const clientHello = p1.a.wire[0]!;
    // A second responder on the same listener sees the same ClientHello again.
    const p2 = new Pair({ bComponents: { nonceTracker: tracker } });
    p2.b.core.start(T0);
    p2.b.core.handle({ kind: 'bytes', data: clientHello }, T0 + 1000);
    const effects = [...drain(p2.b.core)];
    expect(effects.find((e) => e.kind === 'close')).toMatchObject({ reason: { code: 'handshake-failed', handshakeFailure: 'replay' } });
    expect(p2.b.core.pollTransmit()).toBeUndefined(); // closed silently: nothing written
  });

  it('refuses a stale timestamp (clock skew > 300 s) either way', () => {
    const late = new Pair({ bSkewMs: 301_000 }).start();
    expect(late.take(late.b, 'close')[0]!.reason).toMatchObject({ code: 'handshake-failed', handshakeFailure: 'clock_skew' });
    const early = new Pair({ bSkewMs: -301_000 }).start();
    expect(early.take(early.b, 'close')[0]!.reason).toMatchObject({ code: 'handshake-failed', handshakeFailure: 'clock_skew' });
    const ok = new Pair({ bSkewMs: 299_000 }).start();
    expect(ok.take(ok.b, 'established')).toHaveLength(1);
  });

  it('refuses garbage and oversize handshake frames silently', () => {
    const p = new Pair();
    p.b.core.start(T0);
    p.b.core.handle({ kind: 'bytes', data: Uint8Array.of(0, 0, 0, 3, 1, 2, 3) }, T0);
    expect([...drain(p.b.core)].find((e) => e.kind === 'close')).toMatchObject({ reason: { code: 'handshake-failed', handshakeFailure: 'malformed' } });
    const q = new Pair();
    q.b.core.start(T0);
    q.b.core.handle({ kind: 'bytes', data: Uint8Array.of(0, 1, 0, 1) }, T0);
    expect([...drain(q.b.core)].find((e) => e.kind === 'close')).toMatchObject({ reason: { code: 'handshake-failed', handshakeFailure: 'oversize' } });
    expect(q.b.core.pollTransmit()).toBeUndefined();
  });

  it('times out a handshake that never finishes', () => {
    const p = new Pair();
    p.b.core.start(T0);
    expect(p.b.core.nextDeadline()).toBe(T0 + 10_000);
    p.b.core.handleTimeout(T0 + 9_999);
    expect(p.b.core.state).toBe('handshaking');
    p.b.core.handleTimeout(T0 + 10_000);
    expect([...drain(p.b.core)].find((e) => e.kind === 'close')).toMatchObject({ reason: { code: 'handshake-timeout' } });
  });

  it('requests queued during the handshake go out right after it', () => {
    const p = new Pair();
    const r = p.a.core.request({ type: MessageType.GET_MANIFEST, payload: getManifest(1) }, T0);
    expect(r.ok).toBe(true);
    p.start();
    expect(p.take(p.b, 'inbound-request')).toHaveLength(1);
  });
});

describe('ConnectionCore: envelopes', () => {
  it('pipelines requests and answers strictly in request order although handlers finish out of order', () => {
    const p = open();
    const ids: number[] = [];
    for (let i = 0; i < 10; i++) {
      const r = p.a.core.request({ type: MessageType.GET_MANIFEST, payload: getManifest(i) }, p.now);
      if (!r.ok) throw new Error(r.reason);
      ids.push(r.id);
    }
    p.drive();
    const inbound = p.take(p.b, 'inbound-request');
    expect(inbound.map((e) => e.reqId)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(inbound.every((e) => e.owner === 'index' && e.request.type === MessageType.GET_MANIFEST)).toBe(true);
    // answer in reverse: nothing may leave before the first is answered
    const before = p.b.wire.length;
    for (const e of [...inbound].reverse().slice(0, 9)) p.b.core.respond(e.id, { payload: Uint8Array.of(0xa0 + (e.reqId % 16)) }, p.now);
    p.drive();
    expect(p.b.wire.length).toBe(before);
    p.b.core.respond(inbound[0]!.id, { error: 'manifest not found' }, p.now);
    p.drive();
    const responses = p.take(p.a, 'response');
    expect(responses.map((r) => r.id)).toEqual(ids);
    expect(responses[0]!.error).toBe('manifest not found');
    expect(responses[0]!.envelope.flags).toBe(3);
    expect(responses[0]!.envelope.type).toBe(MessageType.GET_MANIFEST);
    expect(responses[1]!.envelope).toMatchObject({ type: MessageType.MANIFEST_DATA, reqId: 2, flags: FLAG_RESPONSE });
    // on the wire: envelopes in request order
    const r = new FrameReader();
    for (const w of p.b.wire.slice(before)) r.push(w);
    expect([...r.frames()].map((f) => decodeEnvelope(f).reqId)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('answers unknown, response-only and undecodable requests with a flags=3 envelope and stays open', () => {
    const p = open();
    const unknown = p.a.core.request({ type: 999, payload: new Uint8Array(0) }, p.now);
    const respOnly = p.a.core.request({ type: MessageType.CHUNK_DATA, payload: new Uint8Array(0) }, p.now);
    const bad = p.a.core.request({ type: MessageType.GET_MANIFEST, payload: Uint8Array.of(0xff, 0x00) }, p.now);
    const good = p.a.core.request({ type: MessageType.GET_MANIFEST, payload: getManifest(1) }, p.now);
    p.drive();
    expect(p.take(p.b, 'inbound-request')).toHaveLength(1);
    const rs = p.take(p.a, 'response');
    expect(rs.slice(0, 3).map((r) => [r.id, r.envelope.flags, r.error !== undefined])).toEqual([
      [unknown.ok && unknown.id, 3, true],
      [respOnly.ok && respOnly.id, 3, true],
      [bad.ok && bad.id, 3, true],
    ]);
    expect(rs[0]!.error).toBe('unknown message type 999');
    expect(rs[0]!.envelope.type).toBe(999);
    expect(rs[1]!.error).toBe('unsupported message type');
    expect(rs[2]!.error!.length).toBeGreaterThan(0);
    expect(p.a.core.state).toBe('open');
    expect(p.b.core.state).toBe('open');
    expect(good.ok).toBe(true);
  });

  it('rate limits per identity with the reference text', () => {
    const limiter = new RateLimiter({ limits: { fetch: 2 } });
    const p = open({ bComponents: { rateLimiter: limiter } });
    for (let i = 0; i < 3; i++) p.a.core.request({ type: MessageType.GET_MANIFEST, payload: getManifest(i) }, p.now);
    p.drive();
    const inbound = p.take(p.b, 'inbound-request');
    expect(inbound).toHaveLength(2);
    for (const e of inbound) p.b.core.respond(e.id, { payload: new Uint8Array(0) }, p.now);
    p.drive();
    const rs = p.take(p.a, 'response');
    expect(rs.map((r) => r.error)).toEqual([undefined, undefined, 'fetch request rate limit exceeded']);
  });

  it('a tunnelled RELAY_STREAM counts as its inner request (GET_CHUNK: chunk class), a control stream as relay', () => {
    const limiter = new RateLimiter({ limits: { relay: 2, chunk: 100 } });
    const p = open({ bComponents: { rateLimiter: limiter } });
    const inner = encodeEnvelope({ type: MessageType.GET_CHUNK, reqId: 1, flags: 0, payload: getChunkCodec.encode({ contentId: new Uint8Array(32), chunkIndex: 0 }) });
    const stream = (kind: 'content' | 'control') => relayStreamCodec.encode({ relaySlotId: 7n, streamId: 0, kind, payload: kind === 'content' ? inner : new Uint8Array([0xa0]) });
    for (let i = 0; i < 5; i++) p.a.core.request({ type: MessageType.RELAY_STREAM, payload: stream('content') }, p.now);
    for (let i = 0; i < 3; i++) p.a.core.request({ type: MessageType.RELAY_STREAM, payload: stream('control') }, p.now);
    p.drive();
    for (const e of p.take(p.b, 'inbound-request')) p.b.core.respond(e.id, { payload: relayStreamCodec.encode({ relaySlotId: 7n, streamId: 0, kind: 'control', payload: new Uint8Array(0) }) }, p.now);
    p.drive();
    const rs = p.take(p.a, 'response').map((r) => r.error);
    expect(rs.slice(0, 5)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(rs.slice(5)).toEqual([undefined, undefined, 'relay request rate limit exceeded']);
  });

  it('times a request out on the virtual clock, then closes a stalled stream', () => {
    const p = open();
    const r = p.a.core.request({ type: MessageType.GET_MANIFEST, payload: getManifest(1), timeoutMs: 3_000 }, p.now);
    p.drive();
    expect(p.a.core.nextDeadline()).toBe(T0 + 3_000);
    p.advance(2_999);
    expect(p.take(p.a, 'request-failed')).toHaveLength(0);
    p.advance(1);
    const [f] = p.take(p.a, 'request-failed');
    expect(f).toMatchObject({ id: r.ok && r.id, error: { code: 'TIMEOUT' } });
    p.advance(5_000);
    expect(p.take(p.a, 'close')[0]!.reason).toMatchObject({ code: 'request-stalled', graceful: false });
  });

  it('discards a late answer to a timed-out request and keeps serving', () => {
    const p = open();
    p.a.core.request({ type: MessageType.GET_MANIFEST, payload: getManifest(1), timeoutMs: 1_000 }, p.now);
    p.drive();
    const [inb] = p.take(p.b, 'inbound-request');
    p.advance(1_000);
    expect(p.take(p.a, 'request-failed')).toHaveLength(1);
    p.b.core.respond(inb!.id, { payload: new Uint8Array(0) }, p.now);
    p.drive();
    expect(p.take(p.a, 'response')).toHaveLength(0);
    const r2 = p.a.core.request({ type: MessageType.GET_MANIFEST, payload: getManifest(2) }, p.now);
    p.drive();
    p.b.core.respond(p.take(p.b, 'inbound-request')[0]!.id, { payload: new Uint8Array(0) }, p.now);
    p.drive();
    expect(p.take(p.a, 'response').map((x) => x.id)).toEqual([r2.ok && r2.id]);
    expect(p.a.core.state).toBe('open');
  });

  it('answers for a handler that never does', () => {
    const p = open({ b: { limits: { inboundHandlerTimeoutMs: 2_000 } } });
    p.a.core.request({ type: MessageType.GET_MANIFEST, payload: getManifest(1) }, p.now);
    p.drive();
    p.advance(2_000);
    expect(p.take(p.a, 'response')[0]!.error).toBe('request handler timed out');
  });

  it('closes idle connections gracefully', () => {
    const p = open({ a: { limits: { idleTimeoutMs: 60_000 } } });
    p.advance(59_999);
    expect(p.a.core.state).toBe('open');
    p.advance(1);
    expect(p.take(p.a, 'close')[0]!.reason).toMatchObject({ code: 'idle', graceful: true, peerFault: false });
    expect(p.take(p.b, 'close')[0]!.reason).toMatchObject({ code: 'remote-closed', graceful: true });
  });

  it('graceful close waits for in-flight answers', () => {
    const p = open();
    const r = p.a.core.request({ type: MessageType.GET_MANIFEST, payload: getManifest(1) }, p.now);
    p.drive();
    p.a.core.close(p.now);
    expect(p.a.core.request({ type: MessageType.GET_MANIFEST, payload: getManifest(2) }, p.now)).toEqual({ ok: false, reason: 'closed' });
    p.drive();
    expect(p.take(p.a, 'close')).toHaveLength(0);
    p.b.core.respond(p.take(p.b, 'inbound-request')[0]!.id, { payload: new Uint8Array(0) }, p.now);
    p.drive();
    expect(p.take(p.a, 'response').map((x) => x.id)).toEqual([r.ok && r.id]);
    expect(p.take(p.a, 'close')[0]!.reason).toMatchObject({ code: 'local', graceful: true });
  });

  it('closes silently on an oversize frame, an undecodable envelope or an unexpected response', () => {
    const cases: [Uint8Array, string][] = [
      [Uint8Array.of(0x00, 0x20, 0x00, 0x01), 'oversize-frame'],
      [Uint8Array.of(0, 0, 0, 2, 0xff, 0xff), 'bad-envelope'],
      [encodeEnvelopeFrame({ type: 401, reqId: 5, flags: FLAG_RESPONSE, payload: new Uint8Array(0) }), 'unexpected-response'],
    ];
    for (const [bytes, code] of cases) {
      const p = open();
      const before = p.b.wire.length;
      p.b.core.handle({ kind: 'bytes', data: bytes }, p.now);
      p.drive();
      expect(p.take(p.b, 'close')[0]!.reason).toMatchObject({ code, peerFault: true, graceful: false });
      expect(p.b.wire.length).toBe(before);
    }
  });

  it('a truncated frame at end of stream is a peer fault', () => {
    const p = open();
    p.b.core.handle({ kind: 'bytes', data: Uint8Array.of(0, 0, 0, 9, 1) }, p.now);
    p.b.core.handle({ kind: 'eof' }, p.now);
    p.drive();
    expect(p.take(p.b, 'close')[0]!.reason.code).toBe('truncated-frame');
  });
});

describe('ConnectionCore: bounds and backpressure', () => {
  it('refuses requests beyond the in-flight cap', () => {
    const p = open({ a: { limits: { maxOutboundInFlight: 4 } } });
    const rs = Array.from({ length: 6 }, (_, i) => p.a.core.request({ type: MessageType.GET_MANIFEST, payload: getManifest(i) }, p.now));
    expect(rs.map((r) => r.ok)).toEqual([true, true, true, true, false, false]);
    expect(rs[4]).toEqual({ ok: false, reason: 'too-many-in-flight' });
  });

  it('signals backpressure when the transport stops taking bytes, and releases it on drain', () => {
    const p = open({ a: { limits: { maxQueuedOutboundBytes: 10_000, maxOutboundInFlight: 1_000 } } });
    p.a.core.handle({ kind: 'write-blocked' }, p.now);
    let refused = 0;
    for (let i = 0; i < 200; i++) {
      const r = p.a.core.request({ type: MessageType.STORE, payload: new Uint8Array(500) }, p.now);
      if (!r.ok) {
        expect(r.reason).toBe('backpressure');
        refused++;
      }
      expect(p.a.core.queuedBytes).toBeLessThanOrEqual(10_000);
    }
    expect(refused).toBeGreaterThan(0);
    expect(p.a.core.pollTransmit()).toBeUndefined();
    expect(p.take(p.a, 'backpressure')).toHaveLength(0); // not yet polled
    p.drive();
    expect(p.take(p.a, 'backpressure').map((e) => e.blocked)).toEqual([true]);
    p.a.core.handle({ kind: 'write-drained' }, p.now);
    p.drive();
    expect(p.take(p.a, 'backpressure').map((e) => e.blocked)).toEqual([false]);
  });

  it('pauses reading when handlers fall behind and bounds what a peer can make it buffer', () => {
    const p = open({ b: { limits: { maxInboundInFlight: 4, maxBufferedInboundBytes: 4_096 } }, a: { limits: { maxOutboundInFlight: 1_000 } } });
    for (let i = 0; i < 20; i++) p.a.core.request({ type: MessageType.GET_MANIFEST, payload: getManifest(i) }, p.now);
    p.drive();
    expect(p.take(p.b, 'inbound-request')).toHaveLength(4);
    expect(p.take(p.b, 'read-paused').map((e) => e.paused)).toEqual([true]);
    expect(p.b.core.inboundInFlight).toBe(4);
    expect(p.b.core.bufferedInboundBytes).toBeLessThanOrEqual(4_096);
    // a peer ignoring the pause gets cut off
    for (let i = 0; i < 100 && p.b.core.state === 'open'; i++) {
      p.b.core.handle({ kind: 'bytes', data: encodeEnvelopeFrame({ type: 400, reqId: 100 + i, flags: 0, payload: getManifest(1) }) }, p.now);
    }
    p.drive();
    expect(p.take(p.b, 'close')[0]!.reason).toMatchObject({ code: 'overload', peerFault: true });
  });

  it('resumes reading as answers go out', () => {
    const p = open({ b: { limits: { maxInboundInFlight: 2 } } });
    for (let i = 0; i < 6; i++) p.a.core.request({ type: MessageType.GET_MANIFEST, payload: getManifest(i) }, p.now);
    p.drive();
    let served = 0;
    for (let round = 0; round < 10; round++) {
      const inb = p.take(p.b, 'inbound-request');
      for (const e of inb) p.b.core.respond(e.id, { payload: new Uint8Array(0) }, p.now);
      served += inb.length;
      p.drive();
    }
    expect(served).toBe(6);
    expect(p.take(p.a, 'response')).toHaveLength(6);
  });
});

describe('ConnectionCore: who may send requests', () => {
  it('a responder waits until the peer speaks PEX, then both directions pipeline', () => {
    const p = open();
    expect(p.b.core.request({ type: MessageType.PEX_REQUEST, payload: new Uint8Array(0) }, p.now)).toEqual({ ok: false, reason: 'not-permitted' });
    p.a.core.request({ type: MessageType.PEX_OFFER, payload: pexOfferCodec.encode({ peers: [] }) }, p.now);
    p.drive();
    expect(p.take(p.b, 'requests-enabled')).toHaveLength(1);
    const [inb] = p.take(p.b, 'inbound-request');
    expect(inb!.owner).toBe('session');
    const r = p.b.core.request({ type: MessageType.GET_MANIFEST, payload: getManifest(3) }, p.now);
    expect(r.ok).toBe(true);
    p.b.core.respond(inb!.id, { payload: new Uint8Array(0) }, p.now);
    p.drive();
    const [onA] = p.take(p.a, 'inbound-request');
    expect(onA!.request.type).toBe(MessageType.GET_MANIFEST);
    p.a.core.respond(onA!.id, { payload: new Uint8Array(0) }, p.now);
    p.drive();
    expect(p.take(p.a, 'response')[0]!.envelope).toMatchObject({ type: MessageType.PEX_OFFER, flags: FLAG_RESPONSE });
    expect(p.take(p.b, 'response')[0]!.envelope).toMatchObject({ type: MessageType.MANIFEST_DATA });
  });

  it('allowRequests opens a relay tunnel direction explicitly', () => {
    const p = open();
    p.b.core.allowRequests();
    expect(p.b.core.request({ type: MessageType.GET_MANIFEST, payload: getManifest(1) }, p.now).ok).toBe(true);
  });
});

function* drain(core: { pollEffect(): unknown; pollTransmit(): unknown }): Generator<{ kind: string; [k: string]: unknown }> {
  for (let e = core.pollEffect(); e !== undefined; e = core.pollEffect()) yield e as { kind: string };
}

void TEXT;

describe('ConnectionCore: closing with unflushed bytes', () => {
  it('gives up on a transport that never takes the last bytes', () => {
    const p = open();
    const r = p.a.core.request({ type: MessageType.GET_MANIFEST, payload: getManifest(1) }, p.now);
    p.drive();
    const [inb] = p.take(p.b, 'inbound-request');
    p.b.core.handle({ kind: 'write-blocked' }, p.now);
    p.b.core.respond(inb!.id, { payload: new Uint8Array(0) }, p.now);
    p.b.core.close(p.now);
    expect(p.b.core.state).toBe('closed');
    expect([...drain(p.b.core)].some((e) => e.kind === 'close')).toBe(false);
    expect(p.b.core.nextDeadline()).toBe(p.now + 5_000);
    p.b.core.handleTimeout(p.now + 5_000);
    expect([...drain(p.b.core)].find((e) => e.kind === 'close')).toMatchObject({ reason: { code: 'local', graceful: false } });
    expect(p.b.core.queuedBytes).toBe(0);
    void r;
  });
});
