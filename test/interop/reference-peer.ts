/**
 * A minimal peer that behaves on the wire like the Rust reference's shipped binaries (PROTOCOL.md §2, §4.1,
 * §4.3, §15, §18), written independently of our session layer (nothing from src/actors/session/*): only the
 * pure codecs and the sans-I/O HandshakeMachine from src/protocol/.
 *
 *  - `RefClient`: connection per request. Every request opens a fresh TLS connection
 *    (`rejectUnauthorized: false`, SNI "localhost", no ALPN), runs the 3-message handshake, writes exactly one
 *    envelope, reads exactly one response envelope and closes. req_ids as the reference picks them: a counter
 *    from 1,000,000 for DHT/browse queries, 1 for manifests, 5,000 for chunk hashes, 10,000 for chunks.
 *  - `RefServer`: TLS listener with a throwaway ECDSA P-256 self-signed `localhost` cert (like rcgen), responder
 *    handshake with a listener-wide nonce tracker, then a strictly sequential loop: read one envelope, answer
 *    one. Handshake failures, oversize frames and undecodable envelopes close the connection silently (§18).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import {
  HandshakeMachine,
  NonceTracker,
  encodeHandshakeFrame,
  encodeHello,
  signHello,
  type AuthenticatedSession,
  type HandshakeHello,
} from '../../src/protocol/handshake.js';
import { NO_CAPABILITIES, type Capabilities } from '../../src/protocol/peer-addr.js';
import { encodeFrame } from '../../src/protocol/frame.js';
import { decodeEnvelope, encodeEnvelope, FLAG_RESPONSE, FLAGS_ERROR_RESPONSE, type Envelope } from '../../src/protocol/envelope.js';
import { findNodeCodec, findNodeResultCodec, findValueCodec, findValueResultCodec, storeCodec, type Store } from '../../src/protocol/dht-messages.js';
import { pexOfferCodec, pexRequestCodec } from '../../src/protocol/pex.js';
import { getManifestCodec, manifestDataCodec } from '../../src/protocol/transfer-messages.js';
import { toHex } from '../../src/protocol/bytes.js';
import { publicKeyFromSeed } from '../../src/protocol/keys.js';

export const HANDSHAKE_MAX = 65_536;
export const ENVELOPE_MAX = 2_097_152;
export const PAYLOAD_MAX = 1_048_576;

const nowSecs = (): number => Math.floor(Date.now() / 1000);
const cryptoRandom = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

// ---------------------------------------------------------------------------------------------------------
// A frame reader over a socket: 4-byte big-endian prefix checked against the limit before the body is read.

export class SocketFrames {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  ended = false;
  error: Error | null = null;
  /** Every byte received, for "nothing was sent" checks. */
  received = 0;

  constructor(readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.received += d.length;
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.wake();
    });
    const end = (): void => {
      this.ended = true;
      this.wake();
    };
    sock.on('end', end);
    sock.on('close', end);
    sock.on('error', (e) => {
      this.error = e;
      end();
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private async need(n: number): Promise<boolean> {
    while (this.buf.length < n) {
      if (this.ended) return false;
      await new Promise<void>((r) => (this.waiter = r));
    }
    return true;
  }

  /** The next frame body; null at end of stream (or a truncated frame); throws on an oversize prefix. */
  async next(max: number): Promise<Uint8Array | null> {
    if (!(await this.need(4))) return null;
    const len = this.buf.readUInt32BE(0);
    if (len > max) throw new Error(`frame of ${len} bytes exceeds ${max}`);
    if (!(await this.need(4 + len))) return null;
    const body = new Uint8Array(this.buf.subarray(4, 4 + len));
    this.buf = this.buf.subarray(4 + len);
    return body;
  }

  /** Resolves once the peer has closed (or `ms` passed: returns false). */
  async closed(ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (!this.ended) {
      if (Date.now() > end) return false;
      await new Promise<void>((r) => {
        this.waiter = r;
        setTimeout(r, Math.max(1, end - Date.now()));
      });
    }
    return true;
  }
}

function write(sock: net.Socket, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => sock.write(bytes, (e) => (e ? reject(e) : resolve())));
}

// ---------------------------------------------------------------------------------------------------------
// Client

export interface RefResponse {
  env: Envelope;
  session: AuthenticatedSession;
}

export class RefClient {
  readonly pubkey: Uint8Array;
  private dhtReqId = 1_000_000;
  /** TLS connections opened (one per request). */
  connections = 0;
  /**
   * Envelopes the server sent us that were not the response (flags 0: the server pushing its own request).
   * The reference server never does this and the reference client would take such an envelope as the
   * response (and fail on its type/req_id). Only skipped when `tolerateServerRequests` is set.
   */
  readonly serverRequests: { type: number; reqId: number; flags: number; beforeResponseTo: number }[] = [];
  tolerateServerRequests = false;

  constructor(
    readonly seed: Uint8Array,
    readonly host: string,
    readonly port: number,
    readonly opts: { capabilities?: Capabilities; expectedRemotePubkey?: Uint8Array | null } = {},
  ) {
    this.pubkey = publicKeyFromSeed(seed);
  }

  nextDhtReqId(): number {
    return this.dhtReqId++;
  }

  /** TLS like the reference's insecure connector: any cert, SNI localhost, no ALPN, no client cert. */
  async open(): Promise<{ sock: tls.TLSSocket; frames: SocketFrames }> {
    this.connections++;
    const sock = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ host: this.host, port: this.port, rejectUnauthorized: false, servername: 'localhost' }, () => resolve(s));
      s.once('error', reject);
      s.setTimeout(5_000, () => s.destroy(new Error('connect timeout')));
    });
    sock.setTimeout(0);
    return { sock, frames: new SocketFrames(sock) };
  }

  /** Initiator side of §4.3 on an open stream. */
  async handshake(sock: net.Socket, frames: SocketFrames): Promise<AuthenticatedSession> {
    const m = new HandshakeMachine({
      role: 'initiator',
      nodeSeed: this.seed,
      capabilities: this.opts.capabilities ?? NO_CAPABILITIES,
      expectedRemotePubkey: this.opts.expectedRemotePubkey ?? null,
      random: cryptoRandom,
    });
    for (const ev of m.start(nowSecs())) if (ev.kind === 'send') await write(sock, ev.frame);
    const sh = await frames.next(HANDSHAKE_MAX);
    if (sh === null) throw new Error('connection closed during handshake');
    let session: AuthenticatedSession | null = null;
    for (const ev of m.handle(sh, nowSecs())) {
      if (ev.kind === 'send') await write(sock, ev.frame);
      else if (ev.kind === 'failed') throw new Error(`handshake failed: ${ev.reason}: ${ev.message}`);
      else session = ev.session;
    }
    if (!session) throw new Error('handshake did not establish');
    return session;
  }

  /** One request on its own connection: connect, handshake, one envelope out, one in, close. */
  async request(type: number, reqId: number, payload: Uint8Array): Promise<RefResponse> {
    const { sock, frames } = await this.open();
    try {
      const session = await this.handshake(sock, frames);
      await write(sock, encodeFrame(encodeEnvelope({ type, reqId, flags: 0, payload })));
      for (;;) {
        const body = await frames.next(ENVELOPE_MAX);
        if (body === null) throw new Error(`connection closed before the response to type ${type}`);
        const env = decodeEnvelope(body);
        if (env.payload.length > PAYLOAD_MAX) throw new Error('response payload too large');
        if (this.tolerateServerRequests && (env.flags & FLAG_RESPONSE) === 0) {
          this.serverRequests.push({ type: env.type, reqId: env.reqId, flags: env.flags, beforeResponseTo: type });
          continue;
        }
        return { env, session };
      }
    } finally {
      sock.destroy();
    }
  }

  /**
   * Sends a ClientHello whose signature has one bit flipped (or any other raw first frame) and reports what came
   * back: the reference closes silently on any handshake failure.
   */
  async sendRawFirstFrame(frame: Uint8Array, waitMs = 3_000): Promise<{ closed: boolean; bytesReceived: number }> {
    const { sock, frames } = await this.open();
    try {
      await write(sock, frame);
      const closed = await frames.closed(waitMs);
      return { closed, bytesReceived: frames.received };
    } finally {
      sock.destroy();
    }
  }

  /** A correctly shaped ClientHello, optionally tampered with before encoding. */
  clientHelloFrame(tamper?: (h: HandshakeHello) => HandshakeHello): Uint8Array {
    let h = signHello(
      {
        nodePubkey: this.pubkey,
        capabilities: NO_CAPABILITIES,
        nonce: cryptoRandom(32),
        echoedNonce: null,
        timestampUnixSecs: BigInt(nowSecs()),
        protocolVersion: 1,
        ephemeralPubkey: cryptoRandom(32),
      },
      this.seed,
    );
    if (tamper) h = tamper(h);
    return encodeHandshakeFrame(encodeHello(h));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Server

/** A throwaway ECDSA P-256 self-signed cert for "localhost", as rcgen's generate_simple_self_signed makes. */
export function selfSignedLocalhost(): { key: string; cert: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scp2p-refcert-'));
  try {
    const keyPath = path.join(dir, 'key.pem');
    const certPath = path.join(dir, 'cert.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-subj', '/CN=rcgen self signed cert', '-addext', 'subjectAltName=DNS:localhost',
      '-days', '2', '-keyout', keyPath, '-out', certPath,
    ], { stdio: 'ignore' });
    return { key: fs.readFileSync(keyPath, 'utf8'), cert: fs.readFileSync(certPath, 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface ServerLogEntry {
  conn: number;
  type: number;
  reqId: number;
  flags: number;
  /** The type/flags of what we answered. */
  answeredType: number;
  answeredFlags: number;
  error?: string;
  remote: string;
}

export class RefServer {
  readonly pubkey: Uint8Array;
  readonly nonceTracker = new NonceTracker();
  /** manifest id hex → MANIFEST_DATA bytes (struct CBOR of the signed manifest). */
  readonly manifests = new Map<string, Uint8Array>();
  /** DHT key hex → the stored value (last write wins). */
  readonly dht = new Map<string, Store>();
  readonly log: ServerLogEntry[] = [];
  /** Per accepted connection: how the handshake went. */
  readonly handshakes: { conn: number; ok: boolean; reason?: string; remote?: string }[] = [];
  /** Anything that broke our strict request/response rules (e.g. a response-flagged envelope sent to us). */
  readonly anomalies: string[] = [];
  /**
   * Extra answers by request type, consulted before the built-in ones (e.g. the §10 community handlers of
   * reference-community.ts, for a reference node that joined a community). A handler may throw: error envelope.
   */
  readonly handlers = new Map<number, (env: Envelope) => Envelope>();
  private server!: tls.Server;
  private conns = 0;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  private constructor(
    readonly seed: Uint8Array,
    readonly capabilities: Capabilities,
  ) {
    this.pubkey = publicKeyFromSeed(seed);
  }

  static async start(opts: { seed?: Uint8Array; host?: string; capabilities?: Capabilities } = {}): Promise<RefServer> {
    const s = new RefServer(opts.seed ?? cryptoRandom(32), opts.capabilities ?? NO_CAPABILITIES);
    const { key, cert } = selfSignedLocalhost();
    s.server = tls.createServer({ key, cert, requestCert: false }, (sock) => void s.serve(sock));
    s.server.on('tlsClientError', () => {});
    await new Promise<void>((r) => s.server.listen(0, opts.host ?? '127.0.0.1', r));
    s.port = (s.server.address() as net.AddressInfo).port;
    return s;
  }

  get url(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private async serve(sock: tls.TLSSocket): Promise<void> {
    const conn = ++this.conns;
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => {});
    const frames = new SocketFrames(sock);
    const remote = `${sock.remoteAddress}:${sock.remotePort}`;
    try {
      const m = new HandshakeMachine({ role: 'responder', nodeSeed: this.seed, capabilities: this.capabilities, nonceTracker: this.nonceTracker, random: cryptoRandom });
      let session: AuthenticatedSession | null = null;
      while (!session) {
        const body = await frames.next(HANDSHAKE_MAX);
        if (body === null) throw new Error('closed during handshake');
        for (const ev of m.handle(body, nowSecs())) {
          if (ev.kind === 'send') await write(sock, ev.frame);
          else if (ev.kind === 'failed') throw new Error(`handshake ${ev.reason}`);
          else session = ev.session;
        }
      }
      this.handshakes.push({ conn, ok: true, remote: toHex(session.remoteNodePubkey) });
      // Strictly sequential: one envelope in, one out.
      for (;;) {
        const body = await frames.next(ENVELOPE_MAX);
        if (body === null) return;
        const env = decodeEnvelope(body); // throws → silent close, as the reference does
        if (env.payload.length > PAYLOAD_MAX) throw new Error('payload too large');
        if (env.flags !== 0) this.anomalies.push(`conn ${conn}: request with flags ${env.flags} (type ${env.type}, req_id ${env.reqId})`);
        const out = this.answer(env);
        this.log.push({ conn, type: env.type, reqId: env.reqId, flags: env.flags, answeredType: out.type, answeredFlags: out.flags, remote, ...(out.flags === FLAGS_ERROR_RESPONSE ? { error: new TextDecoder().decode(out.payload) } : {}) });
        await write(sock, encodeFrame(encodeEnvelope(out)));
      }
    } catch (e) {
      if (!this.handshakes.some((h) => h.conn === conn)) this.handshakes.push({ conn, ok: false, reason: e instanceof Error ? e.message : String(e) });
      sock.destroy();
    } finally {
      sock.end();
    }
  }

  private answer(env: Envelope): Envelope {
    const ok = (type: number, payload: Uint8Array = new Uint8Array(0)): Envelope => ({ type, reqId: env.reqId, flags: FLAG_RESPONSE, payload });
    const err = (text: string): Envelope => ({ type: env.type, reqId: env.reqId, flags: FLAGS_ERROR_RESPONSE, payload: new TextEncoder().encode(text) });
    try {
      const extra = this.handlers.get(env.type);
      if (extra) return extra(env);
      switch (env.type) {
        case 100:
          pexOfferCodec.decode(env.payload);
          return ok(100);
        case 101:
          pexRequestCodec.decode(env.payload);
          return ok(100, pexOfferCodec.encode({ peers: [] }));
        case 200:
          findNodeCodec.decode(env.payload);
          return ok(200, findNodeResultCodec.encode({ peers: [] }));
        case 201: {
          const q = findValueCodec.decode(env.payload);
          const hit = this.dht.get(toHex(q.key)) ?? null;
          return ok(201, findValueResultCodec.encode({ value: hit, closerPeers: [] }));
        }
        case 202: {
          const st = storeCodec.decode(env.payload);
          this.dht.set(toHex(st.key), { key: st.key.slice(), value: st.value.slice(), ttlSecs: st.ttlSecs });
          return ok(202);
        }
        case 400: {
          const q = getManifestCodec.decode(env.payload);
          const bytes = this.manifests.get(toHex(q.manifestId));
          if (!bytes) return err('manifest not found');
          return ok(401, manifestDataCodec.encode({ manifestId: q.manifestId, bytes }));
        }
        case 499:
          return ok(499);
        case 401: case 403: case 405: case 407: case 451: case 461: case 498: case 501: case 503:
        case 402: case 404: case 406: case 450: case 452: case 453: case 460: case 500: case 502:
          return err('unsupported message type');
        default:
          return err(`unknown message type ${env.type}`);
      }
    } catch (e) {
      return err(e instanceof Error ? e.message : String(e));
    }
  }
}
