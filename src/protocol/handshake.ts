/**
 * The SCP2P session handshake (PROTOCOL.md §4.3): three signed HandshakeHello frames inside TLS/QUIC, whose
 * certificates are never checked — identity comes only from here.
 *
 *   initiator                          responder
 *   ClientHello {Ni, echoed null, Ei} →
 *                                    ← ServerHello {Nr, echoed Ni, Er}
 *   ClientAck   {Ni, echoed Nr, Ei}   →
 *
 * `HandshakeMachine` is sans-I/O in the quinn style: the session layer feeds it frame bodies with `handle(body,
 * now)` and performs the returned events (send this frame, session established, failed with a reason). Time
 * and randomness are arguments; the replay guard (`NonceTracker`) is a listener-wide object the caller shares.
 */
import { ScpError } from '../errors.js';
import { bytesEqual, concatBytes, toHex } from './bytes.js';
import { CborWriter, decodeCbor, type CborValue } from './cbor.js';
import { anyBytes, asMap, b32, opt, req, u16, u64 } from './cbor-fields.js';
import { blake3DeriveKey } from './hash.js';
import { ed25519Signer, ed25519Verify, isValidEd25519Point, publicKeyFromSeed, x25519KeypairFromSecret, x25519SharedSecret, type RandomBytes } from './keys.js';
import {
  DECODE_MAX_SIGNATURE_BYTES,
  FRAME_LENGTH_PREFIX_BYTES,
  HANDSHAKE_MAX_BYTES,
  HANDSHAKE_MAX_CLOCK_SKEW_SECS,
  NONCE_BYTES,
  NONCE_REPLAY_MEMORY_SECS,
  PROTOCOL_VERSION,
  X25519_KEY_BYTES,
} from './limits.js';
import { decodeCapabilities, encodeCapabilities, type Capabilities } from './peer-addr.js';
import { handshakeSignableBytes, writeId, writeU64, writeUint } from './signables.js';

export const SESSION_SECRET_CONTEXT = 'scp2p-handshake-session-secret-v1';

export interface HandshakeHello {
  nodePubkey: Uint8Array;
  capabilities: Capabilities;
  nonce: Uint8Array;
  /** null in the ClientHello; the peer's nonce in the other two. */
  echoedNonce: Uint8Array | null;
  timestampUnixSecs: bigint;
  protocolVersion: number;
  /** X25519 ephemeral key; null only from legacy peers (then there is no session secret). */
  ephemeralPubkey: Uint8Array | null;
  /** Ed25519 over `handshakeSignableBytes`; an int array of 64 on the wire. */
  signature: Uint8Array;
}

// ---------------------------------------------------------------------------------------------------------
// Codec

export function encodeHello(h: HandshakeHello): Uint8Array {
  const w = new CborWriter(512);
  w.map(8);
  w.text('node_pubkey');
  writeId(w, h.nodePubkey, 'hello.nodePubkey');
  w.text('capabilities');
  encodeCapabilities(w, h.capabilities);
  w.text('nonce');
  writeId(w, h.nonce, 'hello.nonce');
  w.text('echoed_nonce').opt(h.echoedNonce, (w, n) => writeId(w, n, 'hello.echoedNonce'));
  w.text('timestamp_unix_secs');
  writeU64(w, h.timestampUnixSecs, 'hello.timestampUnixSecs');
  w.text('protocol_version');
  writeUint(w, h.protocolVersion, 0xffff, 'hello.protocolVersion');
  w.text('ephemeral_pubkey').opt(h.ephemeralPubkey, (w, e) => writeId(w, e, 'hello.ephemeralPubkey'));
  w.text('signature').intArray(h.signature);
  return w.finish();
}

export function decodeHelloValue(v: CborValue, where = 'HandshakeHello'): HandshakeHello {
  const m = asMap(v, where);
  const echoed = opt(m, 'echoed_nonce');
  const version = m.get('protocol_version');
  const eph = opt(m, 'ephemeral_pubkey');
  return {
    nodePubkey: b32(req(m, 'node_pubkey', where), `${where}.node_pubkey`),
    capabilities: decodeCapabilities(req(m, 'capabilities', where), `${where}.capabilities`),
    nonce: b32(req(m, 'nonce', where), `${where}.nonce`),
    echoedNonce: echoed === undefined ? null : b32(echoed, `${where}.echoed_nonce`),
    timestampUnixSecs: u64(req(m, 'timestamp_unix_secs', where), `${where}.timestamp_unix_secs`),
    // serde default = 1 when the key is missing (pre-versioning peers).
    protocolVersion: version === undefined ? PROTOCOL_VERSION : u16(version, `${where}.protocol_version`),
    ephemeralPubkey: eph === undefined ? null : b32(eph, `${where}.ephemeral_pubkey`),
    signature: anyBytes(req(m, 'signature', where), `${where}.signature`, DECODE_MAX_SIGNATURE_BYTES).slice(),
  };
}

export function decodeHello(bytes: Uint8Array): HandshakeHello {
  if (bytes.length > HANDSHAKE_MAX_BYTES) {
    throw ScpError.limit(`handshake frame of ${bytes.length} bytes exceeds ${HANDSHAKE_MAX_BYTES}`);
  }
  return decodeHelloValue(decodeCbor(bytes, 'HandshakeHello'));
}

/** 4-byte big-endian length prefix + body; refuses bodies over 64 KiB as the reference writer does. */
export function encodeHandshakeFrame(body: Uint8Array): Uint8Array {
  if (body.length > HANDSHAKE_MAX_BYTES) throw ScpError.limit('handshake exceeds max size');
  const out = new Uint8Array(FRAME_LENGTH_PREFIX_BYTES + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, FRAME_LENGTH_PREFIX_BYTES);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Sign and verify

export type UnsignedHello = Omit<HandshakeHello, 'signature'>;

export function signHello(h: UnsignedHello, seed32: Uint8Array | ((msg: Uint8Array) => Uint8Array)): HandshakeHello {
  const sign = typeof seed32 === 'function' ? seed32 : ed25519Signer(seed32);
  return { ...h, signature: sign(handshakeSignableBytes(h)) };
}

export type HandshakeFailureReason =
  | 'malformed'
  | 'oversize'
  | 'bad_signature_length'
  | 'clock_skew'
  | 'bad_pubkey'
  | 'bad_signature'
  | 'replay'
  | 'pubkey_mismatch'
  | 'nonce_not_echoed'
  | 'ack_pubkey_mismatch'
  | 'version_mismatch'
  | 'unexpected_message';

/** The reference's error texts where it has one (handshake failures close the connection; nothing is sent). */
const HANDSHAKE_TEXT: Record<HandshakeFailureReason, string> = {
  malformed: 'malformed handshake hello',
  oversize: 'frame exceeds max size',
  bad_signature_length: 'handshake signature must be 64 bytes',
  clock_skew: 'handshake timestamp outside allowed clock skew',
  bad_pubkey: 'handshake node_pubkey is not a valid Ed25519 key',
  bad_signature: 'handshake signature verification failed',
  replay: 'handshake nonce replay detected',
  pubkey_mismatch: 'remote pubkey mismatch',
  nonce_not_echoed: 'handshake does not bind our nonce',
  ack_pubkey_mismatch: 'client ack pubkey does not match initial hello',
  version_mismatch: 'incompatible protocol version',
  unexpected_message: 'unexpected handshake message',
};

export type HelloVerification = { ok: true } | { ok: false; reason: HandshakeFailureReason; message: string };

/** verify_hello: signature length, ±300 s skew (both directions), point validity, signature. Never throws. */
export function verifyHello(h: HandshakeHello, nowUnix: number | bigint): HelloVerification {
  const bad = (reason: HandshakeFailureReason): HelloVerification => ({ ok: false, reason, message: HANDSHAKE_TEXT[reason] });
  if (h.signature.length !== 64) return bad('bad_signature_length');
  const now = BigInt(nowUnix);
  const skew = now > h.timestampUnixSecs ? now - h.timestampUnixSecs : h.timestampUnixSecs - now;
  if (skew > BigInt(HANDSHAKE_MAX_CLOCK_SKEW_SECS)) return bad('clock_skew');
  let bytes: Uint8Array;
  try {
    bytes = handshakeSignableBytes(h);
  } catch {
    return bad('bad_signature');
  }
  if (ed25519Verify(h.nodePubkey, bytes, h.signature)) return { ok: true };
  // Only now pay for the point check, to name the reason the reference would give (it checks the point first).
  return bad(isValidEd25519Point(h.nodePubkey) ? 'bad_signature' : 'bad_pubkey');
}

/** BLAKE3.derive_key("scp2p-handshake-session-secret-v1", dh ‖ Ni ‖ Nr) — initiator nonce first on both sides. */
export function sessionSecret(dh: Uint8Array, initiatorNonce: Uint8Array, responderNonce: Uint8Array): Uint8Array {
  return blake3DeriveKey(SESSION_SECRET_CONTEXT, concatBytes(dh, initiatorNonce, responderNonce));
}

// ---------------------------------------------------------------------------------------------------------
// Replay guard

/**
 * Remembers accepted ClientHello nonces for 600 s (entries with seen-time ≤ now − 600 are pruned on each check,
 * as the reference does). One per listener, shared by all its responder handshakes. `maxEntries` bounds memory
 * under a flood of validly signed hellos (the reference has no cap): the oldest entries go first.
 */
export class NonceTracker {
  private readonly seen = new Map<string, bigint>();
  constructor(private readonly maxEntries = 200_000) {}

  get size(): number {
    return this.seen.size;
  }

  prune(nowUnix: number | bigint): void {
    const cutoff = BigInt(nowUnix) - BigInt(NONCE_REPLAY_MEMORY_SECS);
    for (const [k, ts] of this.seen) if (ts <= cutoff) this.seen.delete(k);
  }

  /** true if fresh (and now recorded); false on replay. */
  checkAndRecord(nonce: Uint8Array, nowUnix: number | bigint): boolean {
    this.prune(nowUnix);
    const key = toHex(nonce);
    if (this.seen.has(key)) return false;
    while (this.seen.size >= this.maxEntries) {
      const oldest = this.seen.keys().next();
      if (oldest.done) break;
      this.seen.delete(oldest.value);
    }
    this.seen.set(key, BigInt(nowUnix));
    return true;
  }
}

// ---------------------------------------------------------------------------------------------------------
// The state machine

export type HandshakeRole = 'initiator' | 'responder';

export interface HandshakeInit {
  role: HandshakeRole;
  /** Our long-term Ed25519 seed. */
  nodeSeed: Uint8Array;
  capabilities: Capabilities;
  /** The peer key we must be talking to (a peer's pubkey_hint, or the responder's allow-listed key). */
  expectedRemotePubkey?: Uint8Array | null;
  /** Responder only: the listener's replay guard. */
  nonceTracker?: NonceTracker | null;
  /** CSPRNG; drawn once for our 32-byte nonce, then once for the 32-byte X25519 ephemeral secret. */
  random: RandomBytes;
}

export interface AuthenticatedSession {
  remoteNodePubkey: Uint8Array;
  remoteCapabilities: Capabilities;
  remoteNonce: Uint8Array;
  remoteProtocolVersion: number;
  localNonce: Uint8Array;
  /** null only when the peer sent no ephemeral key (legacy). */
  sessionSecret: Uint8Array | null;
}

export type HandshakeEvent =
  | { kind: 'send'; hello: HandshakeHello; body: Uint8Array; frame: Uint8Array }
  | { kind: 'established'; session: AuthenticatedSession }
  | { kind: 'failed'; reason: HandshakeFailureReason; message: string };

export type HandshakeState =
  | 'idle'
  | 'await_server_hello'
  | 'await_client_hello'
  | 'await_client_ack'
  | 'established'
  | 'failed';

export class HandshakeMachine {
  readonly role: HandshakeRole;
  private st: HandshakeState;
  private readonly sign: (msg: Uint8Array) => Uint8Array;
  private readonly pubkey: Uint8Array;
  private readonly nonce: Uint8Array;
  private readonly ephSecret: Uint8Array;
  private readonly ephPublic: Uint8Array;
  private clientHello: HandshakeHello | null = null;
  private result: AuthenticatedSession | null = null;
  private failure: { reason: HandshakeFailureReason; message: string } | null = null;

  constructor(private readonly init: HandshakeInit) {
    this.role = init.role;
    this.st = init.role === 'initiator' ? 'idle' : 'await_client_hello';
    this.sign = ed25519Signer(init.nodeSeed);
    this.pubkey = publicKeyFromSeed(init.nodeSeed);
    this.nonce = draw(init.random, NONCE_BYTES, 'nonce');
    this.ephSecret = draw(init.random, X25519_KEY_BYTES, 'ephemeral secret');
    this.ephPublic = x25519KeypairFromSecret(this.ephSecret).publicKey;
  }

  get state(): HandshakeState {
    return this.st;
  }
  get session(): AuthenticatedSession | null {
    return this.result;
  }
  get error(): { reason: HandshakeFailureReason; message: string } | null {
    return this.failure;
  }
  get localNonce(): Uint8Array {
    return this.nonce;
  }

  /** Initiator: produces the ClientHello. A responder has nothing to say first (returns []). */
  start(nowUnix: number | bigint): HandshakeEvent[] {
    if (this.role === 'responder') return [];
    if (this.st !== 'idle') throw ScpError.badInput(`HandshakeMachine.start in state ${this.st}`);
    this.st = 'await_server_hello';
    return [this.hello(null, nowUnix)];
  }

  /** One received frame body (without its 4-byte length prefix). */
  handle(body: Uint8Array, nowUnix: number | bigint): HandshakeEvent[] {
    if (this.st === 'established' || this.st === 'failed') {
      throw ScpError.badInput(`HandshakeMachine.handle in terminal state ${this.st}`);
    }
    if (this.st === 'idle') return [this.fail('unexpected_message', 'a frame arrived before start()')];
    if (body.length > HANDSHAKE_MAX_BYTES) return [this.fail('oversize')];
    let hello: HandshakeHello;
    try {
      hello = decodeHello(body);
    } catch (e) {
      return [this.fail('malformed', e instanceof Error ? e.message : String(e))];
    }
    const v = verifyHello(hello, nowUnix);
    if (!v.ok) return [this.fail(v.reason)];

    switch (this.st) {
      case 'await_server_hello':
        return this.onServerHello(hello, nowUnix);
      case 'await_client_hello':
        return this.onClientHello(hello, nowUnix);
      default:
        return this.onClientAck(hello);
    }
  }

  private onServerHello(sh: HandshakeHello, now: number | bigint): HandshakeEvent[] {
    if (sh.echoedNonce === null || !bytesEqual(sh.echoedNonce, this.nonce)) {
      return [this.fail('nonce_not_echoed', 'server handshake does not bind initiator nonce')];
    }
    const expected = this.init.expectedRemotePubkey;
    if (expected && !bytesEqual(sh.nodePubkey, expected)) return [this.fail('pubkey_mismatch')];
    const ack = this.hello(sh.nonce, now);
    const secret = sh.ephemeralPubkey ? sessionSecret(x25519SharedSecret(this.ephSecret, sh.ephemeralPubkey), this.nonce, sh.nonce) : null;
    // The reference checks the version only after sending the ack.
    return [ack, this.finish(sh, secret)];
  }

  private onClientHello(ch: HandshakeHello, now: number | bigint): HandshakeEvent[] {
    // Recorded right after the signature verifies, before the expected-key check (§18).
    const tracker = this.init.nonceTracker;
    if (tracker && !tracker.checkAndRecord(ch.nonce, now)) return [this.fail('replay')];
    const expected = this.init.expectedRemotePubkey;
    if (expected && !bytesEqual(ch.nodePubkey, expected)) return [this.fail('pubkey_mismatch')];
    this.clientHello = ch;
    this.st = 'await_client_ack';
    return [this.hello(ch.nonce, now)];
  }

  private onClientAck(ack: HandshakeHello): HandshakeEvent[] {
    const ch = this.clientHello!;
    if (!bytesEqual(ack.nodePubkey, ch.nodePubkey)) return [this.fail('ack_pubkey_mismatch')];
    if (ack.echoedNonce === null || !bytesEqual(ack.echoedNonce, this.nonce)) {
      return [this.fail('nonce_not_echoed', 'client ack does not bind responder nonce')];
    }
    const secret = ch.ephemeralPubkey ? sessionSecret(x25519SharedSecret(this.ephSecret, ch.ephemeralPubkey), ch.nonce, this.nonce) : null;
    return [this.finish(ch, secret)];
  }

  private finish(remote: HandshakeHello, secret: Uint8Array | null): HandshakeEvent {
    if (remote.protocolVersion !== PROTOCOL_VERSION) {
      return this.fail('version_mismatch', `incompatible protocol version: local=${PROTOCOL_VERSION}, remote=${remote.protocolVersion}`);
    }
    this.result = {
      remoteNodePubkey: remote.nodePubkey,
      remoteCapabilities: remote.capabilities,
      remoteNonce: remote.nonce,
      remoteProtocolVersion: remote.protocolVersion,
      localNonce: this.nonce,
      sessionSecret: secret,
    };
    this.st = 'established';
    return { kind: 'established', session: this.result };
  }

  private hello(echoed: Uint8Array | null, now: number | bigint): HandshakeEvent {
    const hello = signHello(
      {
        nodePubkey: this.pubkey,
        capabilities: this.init.capabilities,
        nonce: this.nonce,
        echoedNonce: echoed,
        timestampUnixSecs: BigInt(now),
        protocolVersion: PROTOCOL_VERSION,
        ephemeralPubkey: this.ephPublic,
      },
      this.sign,
    );
    const body = encodeHello(hello);
    return { kind: 'send', hello, body, frame: encodeHandshakeFrame(body) };
  }

  private fail(reason: HandshakeFailureReason, message = HANDSHAKE_TEXT[reason]): HandshakeEvent {
    this.st = 'failed';
    this.failure = { reason, message };
    return { kind: 'failed', reason, message };
  }
}

function draw(random: RandomBytes, n: number, what: string): Uint8Array {
  const b = random(n);
  if (!(b instanceof Uint8Array) || b.length !== n) throw ScpError.badInput(`random(${n}) must return ${n} bytes for the ${what}`);
  return new Uint8Array(b);
}
