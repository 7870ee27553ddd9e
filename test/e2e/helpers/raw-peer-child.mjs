// A raw SCP2P client in its own process (run in a network namespace by the e2e tests): no session layer, only
// node:tls and the pure protocol core of dist/ (handshake machine, frames, envelopes) — so a test can send
// exactly the requests a misbehaving peer would, as fast as it likes, under several identities.
//   stdin:  {"id":1,"op":"open","as":"a","host":"10.90.0.1","port":7001}   (new identity "a", one TLS connection)
//           {"id":2,"op":"requests","as":"a","requests":[{"type":450,"payload":"<hex>"},…]}
//   stdout: {"id":1,"result":{"pubkey":"<hex>"}}
//           {"id":2,"result":[{"ok":true,"type":451,"payload":"<hex>"} | {"ok":false,"text":"…"} | {"ok":false,"closed":true}]}
// Requests go out one at a time (each waits for its answer, 15 s at most). Requests the node sends us are
// ignored (a relay may turn a connection into a tunnel; this client never registers one).
import { randomBytes } from 'node:crypto';
import readline from 'node:readline';
import tls from 'node:tls';
import { pathToFileURL } from 'node:url';

const P = await import(pathToFileURL(process.argv[2]).href);
const nowSecs = () => Math.floor(Date.now() / 1000);
const out = (m) => process.stdout.write(JSON.stringify(m) + '\n');
const hex = (b) => Buffer.from(b).toString('hex');
const unhex = (s) => new Uint8Array(Buffer.from(s, 'hex'));

class Conn {
  buf = Buffer.alloc(0);
  waiter = null;
  ended = false;
  constructor(sock) {
    this.sock = sock;
    sock.on('data', (d) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.wake();
    });
    const end = () => ((this.ended = true), this.wake());
    sock.on('close', end);
    sock.on('end', end);
    sock.on('error', end);
  }
  wake() {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
  async frame(deadline) {
    for (;;) {
      if (this.buf.length >= 4) {
        const n = this.buf.readUInt32BE(0);
        if (this.buf.length >= 4 + n) {
          const body = new Uint8Array(this.buf.subarray(4, 4 + n));
          this.buf = this.buf.subarray(4 + n);
          return body;
        }
      }
      if (this.ended) return null;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise((r) => {
        this.waiter = r;
        setTimeout(r, left);
      });
    }
  }
  write(bytes) {
    return new Promise((res, rej) => this.sock.write(bytes, (e) => (e ? rej(e) : res())));
  }
}

const peers = new Map();
let reqId = 1;

async function open(as, host, port) {
  const seed = new Uint8Array(randomBytes(32));
  const sock = await new Promise((resolve, reject) => {
    const s = tls.connect({ host, port, rejectUnauthorized: false, servername: 'localhost' }, () => resolve(s));
    s.once('error', reject);
    s.setTimeout(10_000, () => s.destroy(new Error('connect timeout')));
  });
  sock.setTimeout(0);
  const c = new Conn(sock);
  const m = new P.HandshakeMachine({ role: 'initiator', nodeSeed: seed, capabilities: P.NO_CAPABILITIES, expectedRemotePubkey: null, random: (n) => new Uint8Array(randomBytes(n)) });
  for (const ev of m.start(nowSecs())) if (ev.kind === 'send') await c.write(ev.frame);
  let session = null;
  while (!session) {
    const body = await c.frame(Date.now() + 10_000);
    if (!body) throw new Error('connection closed during handshake');
    for (const ev of m.handle(body, nowSecs())) {
      if (ev.kind === 'send') await c.write(ev.frame);
      else if (ev.kind === 'failed') throw new Error(`handshake failed: ${ev.reason}`);
      else if (ev.kind === 'established') session = ev.session;
    }
  }
  peers.set(as, c);
  return { pubkey: hex(P.publicKeyFromSeed(seed)) };
}

async function request(c, type, payload) {
  if (c.ended) return { ok: false, closed: true };
  const id = reqId++;
  await c.write(P.encodeFrame(P.encodeEnvelope({ type, reqId: id, flags: 0, payload })));
  const deadline = Date.now() + 15_000;
  for (;;) {
    const body = await c.frame(deadline);
    if (body === null) return { ok: false, closed: true };
    if (body === undefined) return { ok: false, text: 'no answer within 15 s' };
    const env = P.decodeEnvelope(body);
    if ((env.flags & P.FLAG_RESPONSE) === 0 || env.reqId !== id) continue;
    return P.isError(env) ? { ok: false, text: P.errorText(env) } : { ok: true, type: env.type, payload: hex(env.payload) };
  }
}

async function handle(msg) {
  if (msg.op === 'open') return open(msg.as, msg.host, msg.port);
  if (msg.op === 'requests') {
    const c = peers.get(msg.as);
    if (!c) throw new Error(`no connection for ${msg.as}`);
    const results = [];
    for (const r of msg.requests) results.push(await request(c, r.type, unhex(r.payload)));
    return results;
  }
  throw new Error(`unknown op ${msg.op}`);
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    return;
  }
  handle(msg).then(
    (result) => out({ id: msg.id, result }),
    (err) => out({ id: msg.id, error: { code: 'RAW', message: String(err?.message ?? err) } }),
  );
});
rl.on('close', () => {
  for (const c of peers.values()) c.sock.destroy();
  process.exit(0);
});
out({ ready: true });
