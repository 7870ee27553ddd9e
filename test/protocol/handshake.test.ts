/**
 * The sans-I/O handshake: two pure machines talk to each other on a virtual clock (quinn's `Pair` idea);
 * every refusal case ends in a typed reason.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeHello,
  encodeHello,
  HandshakeMachine,
  keypairFromSeed,
  NO_CAPABILITIES,
  NonceTracker,
  ProtocolError,
  signHello,
  verifyHello,
  type HandshakeEvent,
  type HandshakeInit,
} from '../../src/protocol/index.js';
import { createHash } from 'node:crypto';

const T0 = 1_700_000_000;
const seedI = new Uint8Array(32).fill(1);
const seedR = new Uint8Array(32).fill(2);
const pubI = keypairFromSeed(seedI).publicKey;
const pubR = keypairFromSeed(seedR).publicKey;

/** Deterministic "CSPRNG": SHA-256 counter stream from a label. */
function rng(label: string): (n: number) => Uint8Array {
  let i = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let o = 0; o < n; o += 32) out.set(createHash('sha256').update(`${label}:${i++}`).digest().subarray(0, Math.min(32, n - o)), o);
    return out;
  };
}

function pair(over: { ini?: Partial<HandshakeInit>; res?: Partial<HandshakeInit>; tracker?: NonceTracker } = {}) {
  const ini = new HandshakeMachine({ role: 'initiator', nodeSeed: seedI, capabilities: NO_CAPABILITIES, random: rng('i'), ...over.ini });
  const res = new HandshakeMachine({
    role: 'responder',
    nodeSeed: seedR,
    capabilities: { ...NO_CAPABILITIES, dht: true, relay: true },
    nonceTracker: over.tracker ?? new NonceTracker(),
    random: rng('r'),
    ...over.res,
  });
  return { ini, res };
}

const sends = (ev: HandshakeEvent[]) => ev.filter((e) => e.kind === 'send');
const body = (ev: HandshakeEvent[]): Uint8Array => {
  const s = ev.find((e) => e.kind === 'send');
  if (!s || s.kind !== 'send') throw new Error('no frame to send');
  return s.body;
};
const failure = (ev: HandshakeEvent[]) => ev.find((e) => e.kind === 'failed');

describe('handshake state machine', () => {
  it('establishes both sides with the same session secret and the right identities', () => {
    const { ini, res } = pair({ ini: { expectedRemotePubkey: pubR }, res: { expectedRemotePubkey: pubI } });
    const ch = ini.start(T0);
    expect(ini.state).toBe('await_server_hello');
    const sh = res.handle(body(ch), T0 + 1);
    expect(res.state).toBe('await_client_ack');
    const ack = ini.handle(body(sh), T0 + 2);
    expect(ack.map((e) => e.kind)).toEqual(['send', 'established']);
    const done = res.handle(body(ack), T0 + 3);
    expect(done.map((e) => e.kind)).toEqual(['established']);
    const si = ini.session!;
    const sr = res.session!;
    expect(si.remoteNodePubkey).toEqual(pubR);
    expect(sr.remoteNodePubkey).toEqual(pubI);
    expect(si.remoteCapabilities.relay).toBe(true);
    expect(si.sessionSecret).toEqual(sr.sessionSecret);
    expect(si.sessionSecret).not.toBeNull();
    expect(si.remoteNonce).toEqual(sr.localNonce);
    // ClientAck keeps nonce Ni and echoes Nr (§4.3 step 3).
    const ackHello = decodeHello(body(ack));
    expect(ackHello.nonce).toEqual(si.localNonce);
    expect(ackHello.echoedNonce).toEqual(sr.localNonce);
    expect(ackHello.timestampUnixSecs).toBe(BigInt(T0 + 2));
  });

  it('refuses a replayed ClientHello (nonce tracker shared by the listener)', () => {
    const tracker = new NonceTracker();
    const a = pair({ tracker });
    const ch = body(a.ini.start(T0));
    a.res.handle(ch, T0);
    const b = pair({ tracker });
    expect(failure(b.res.handle(ch, T0 + 10))).toMatchObject({ reason: 'replay' });
    expect(b.res.state).toBe('failed');
    // After 600 s the nonce is forgotten — but by then the hello is stale anyway.
    const c = pair({ tracker });
    expect(failure(c.res.handle(ch, T0 + 601))).toMatchObject({ reason: 'clock_skew' });
  });

  it('records the nonce even when the expected-key check then fails (§18)', () => {
    const tracker = new NonceTracker();
    const a = pair({ tracker, res: { expectedRemotePubkey: pubR } });
    const ch = body(a.ini.start(T0));
    expect(failure(a.res.handle(ch, T0))).toMatchObject({ reason: 'pubkey_mismatch' });
    expect(tracker.size).toBe(1);
  });

  it('initiator refuses the wrong server key', () => {
    const { ini, res } = pair({ ini: { expectedRemotePubkey: pubI } });
    const sh = res.handle(body(ini.start(T0)), T0);
    const ev = ini.handle(body(sh), T0);
    expect(failure(ev)).toMatchObject({ reason: 'pubkey_mismatch', message: 'remote pubkey mismatch' });
    expect(sends(ev)).toHaveLength(0);
  });

  it('refuses stale and future timestamps beyond ±300 s, accepts exactly 300 s', () => {
    for (const [dt, ok] of [[300, true], [-300, true], [301, false], [-301, false]] as const) {
      const { ini, res } = pair();
      const ev = res.handle(body(ini.start(T0)), T0 + dt);
      if (ok) expect(res.state).toBe('await_client_ack');
      else expect(failure(ev)).toMatchObject({ reason: 'clock_skew' });
    }
  });

  it('bad signature and bad echo are refused with reasons', () => {
    const { ini, res } = pair();
    const ch = body(ini.start(T0));
    const tampered = decodeHello(ch);
    tampered.signature = tampered.signature.slice();
    tampered.signature[0]! ^= 1;
    expect(failure(res.handle(encodeHello(tampered), T0))).toMatchObject({ reason: 'bad_signature' });

    const p2 = pair();
    const ch2 = decodeHello(body(p2.ini.start(T0)));
    const sh = decodeHello(body(p2.res.handle(encodeHello(ch2), T0)));
    const { signature: _x, ...shFields } = sh;
    const wrongEcho = encodeHello(signHello({ ...shFields, echoedNonce: new Uint8Array(32).fill(9) }, seedR));
    expect(failure(p2.ini.handle(wrongEcho, T0))).toMatchObject({ reason: 'nonce_not_echoed' });
  });

  it('malformed and oversize frames fail with reasons, never throw', () => {
    expect(failure(pair().res.handle(new Uint8Array([0xff]), T0))).toMatchObject({ reason: 'malformed' });
    expect(failure(pair().res.handle(new Uint8Array(65_537), T0))).toMatchObject({ reason: 'oversize' });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const ev = pair().res.handle(bytes, T0);
        expect(ev.length).toBe(1);
      }),
      { numRuns: 200 },
    );
  });

  it('ack signed by a different key than the ClientHello is refused', () => {
    const { ini, res } = pair();
    const ch = body(ini.start(T0));
    const sh = decodeHello(body(res.handle(ch, T0)));
    const chv = decodeHello(ch);
    const other = new Uint8Array(32).fill(7);
    const forged = signHello(
      { ...chv, nodePubkey: keypairFromSeed(other).publicKey, echoedNonce: sh.nonce },
      other,
    );
    expect(failure(res.handle(encodeHello(forged), T0))).toMatchObject({ reason: 'ack_pubkey_mismatch' });
  });
});

describe('handshake version rule', () => {
  it('responder: ClientHello with version 2 → ServerHello sent, ack accepted, then version_mismatch', () => {
    const { ini, res } = pair();
    const chv = decodeHello(body(ini.start(T0)));
    const { signature: _s, ...fields } = chv;
    const v2 = encodeHello(signHello({ ...fields, protocolVersion: 2 }, seedI));
    const sh = res.handle(v2, T0);
    expect(sends(sh)).toHaveLength(1);
    const ack = ini.handle(body(sh), T0);
    expect(failure(res.handle(body(ack), T0))).toMatchObject({ reason: 'version_mismatch' });
  });
  it('initiator: ServerHello with version 2 → ack sent, then version_mismatch', () => {
    const { ini, res } = pair();
    const shv = decodeHello(body(res.handle(body(ini.start(T0)), T0)));
    const { signature: _s, ...fields } = shv;
    const v2 = encodeHello(signHello({ ...fields, protocolVersion: 2 }, seedR));
    const ev = ini.handle(v2, T0);
    expect(ev.map((e) => e.kind)).toEqual(['send', 'failed']);
    expect(failure(ev)).toMatchObject({ reason: 'version_mismatch' });
  });
  it('missing protocol_version key decodes as 1; missing ephemeral key means no session secret', () => {
    const hello = signHello(
      { nodePubkey: pubI, capabilities: NO_CAPABILITIES, nonce: new Uint8Array(32), echoedNonce: null, timestampUnixSecs: BigInt(T0), protocolVersion: 1, ephemeralPubkey: null },
      seedI,
    );
    const back = decodeHello(encodeHello(hello));
    expect(back).toEqual(hello);
    expect(verifyHello(back, T0)).toEqual({ ok: true });
  });
  it('decoder errors are ProtocolErrors naming the field', () => {
    const hello = signHello(
      { nodePubkey: pubI, capabilities: NO_CAPABILITIES, nonce: new Uint8Array(32), echoedNonce: null, timestampUnixSecs: BigInt(T0), protocolVersion: 1, ephemeralPubkey: null },
      seedI,
    );
    const bytes = encodeHello(hello);
    bytes[bytes.indexOf(0x98)] = 0x97; // node_pubkey int array header 32 → 23 items: wrong length / trailing bytes
    try {
      decodeHello(bytes);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ProtocolError);
    }
  });
});
