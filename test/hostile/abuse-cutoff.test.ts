/**
 * The cheap defences in front of the rate limiter (src/actors/session/abuse-guard.ts), live over TLS on loopback
 * with DEFAULT node settings unless said otherwise. Attackers connect from their own source address
 * (127.0.0.66; Linux routes all of 127/8 to lo), honest nodes from 127.0.0.1.
 * - Abuse cut-off: a flooder of unknown message types gets the reference's "unknown message type" answer for its
 *   first 64 refusals, then its connection is closed and its identity refused at handshake for the cool-down,
 *   while an honest node's download from the flooded node completes, verified.
 * - Per-IP accept budget: connections beyond the bucket are destroyed before the TLS handshake, other IPs are
 *   unaffected, and serve threads (which accept on the same socket) apply a budget of their own.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { unknownMessageTypeText } from '../../src/protocol/registry.js';
import { hostileNodes } from './hostile-nodes.js';
import { tcpPort, WireClient } from './wire-client.js';

const ATTACKER_IP = '127.0.0.66';
const { clients, tmp, start } = hostileNodes('scp2p-abuse-');

/** A bare TLS connection from `localAddress`: true once the TLS handshake completed, false if the node dropped it first. */
function tlsOpen(port: number, localAddress: string, held: tls.TLSSocket[]): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, localAddress, rejectUnauthorized: false, servername: 'localhost' });
    held.push(s);
    s.once('secureConnect', () => resolve(true));
    s.once('error', () => resolve(false));
    s.once('close', () => resolve(false));
  });
}

describe('abuse cut-off', () => {
  it('a flooder gets its 64 typed refusals, is cut off and refused for the cool-down; an honest download completes, verified', async () => {
    const a = await start();
    const dir = tmp();
    const file = path.join(dir, 'big.bin');
    const bytes = Buffer.alloc(4 * 1024 * 1024 + 7);
    for (let i = 0; i < bytes.length; i += 4096) bytes.writeUInt32BE(i >>> 0, i);
    fs.writeFileSync(file, bytes);
    const pub = await a.publishFiles([file], { title: 'flooded' });
    const [item] = await a.listShareItems(pub.shareId);
    const port = tcpPort(a.addresses());

    const b = await start();
    const download = b.downloadContent(item!.contentId, path.join(dir, 'got.bin'), { peers: [a.addresses()[0]!], timeoutMs: 90_000 });
    download.catch(() => {}); // awaited below

    const seed = new Uint8Array(32).fill(0x66);
    const flooder = await WireClient.connect(port, { seed, localAddress: ATTACKER_IP });
    clients.push(flooder);
    const unknown = 0x7777;
    // One probe first: a single unknown type is answered with the reference's text (interop probes rely on it).
    expect((await flooder.request(unknown, new Uint8Array(8))).error).toBe(unknownMessageTypeText(unknown));
    const results = await Promise.allSettled(Array.from({ length: 300 }, () => flooder.request(unknown, new Uint8Array(8), 30_000)));
    const answered = results.filter((r): r is PromiseFulfilledResult<{ error: string | undefined; type: number; payload: Uint8Array }> => r.status === 'fulfilled');
    expect(answered).toHaveLength(63); // 64 refusals in all with the probe
    expect(answered.every((r) => r.value.error === unknownMessageTypeText(unknown))).toBe(true);
    await flooder.closed;

    // The same identity is refused at handshake for the cool-down (after the accept bucket's refill for its IP).
    await new Promise((r) => setTimeout(r, 1_500));
    const again = await WireClient.connect(port, { seed, localAddress: ATTACKER_IP }).then(
      async (c) => {
        clients.push(c);
        // The initiator's handshake ends with its own last message: the refusal shows as the connection closing.
        return c.request(unknown, new Uint8Array(8), 5_000).then(
          () => 'answered',
          () => 'refused',
        );
      },
      () => 'refused',
    );
    expect(again).toBe('refused');

    // Another identity is not affected by that identity's cool-down.
    const other = await WireClient.connect(port, { localAddress: '127.0.0.67' });
    clients.push(other);
    expect((await other.request(unknown, new Uint8Array(8))).error).toBe(unknownMessageTypeText(unknown));

    await download;
    const got = fs.readFileSync(path.join(dir, 'got.bin'));
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(a.health().actors.every((x) => x.restarts === 0)).toBe(true);
  }, 120_000);
});

describe('per-IP accept budget', () => {
  it('connections beyond the bucket are dropped before the TLS handshake; other IPs still get in', async () => {
    const a = await start({ connectionLimits: { acceptBurstPerIp: 3, acceptPerIpPerSec: 0.2 } });
    const port = tcpPort(a.addresses());
    const held: tls.TLSSocket[] = [];
    try {
      const results: boolean[] = [];
      for (let i = 0; i < 6; i++) results.push(await tlsOpen(port, ATTACKER_IP, held));
      expect(results).toEqual([true, true, true, false, false, false]);
      // The honest IP has a bucket of its own: a full SCP2P handshake and an answer.
      const honest = await WireClient.connect(port, { localAddress: '127.0.0.1' });
      clients.push(honest);
      expect((await honest.request(0x7777, new Uint8Array(1))).error).toBe(unknownMessageTypeText(0x7777));
    } finally {
      for (const s of held) s.destroy();
    }
  }, 30_000);

  it('serve threads apply a budget of their own (each accepting loop: burst 2)', async () => {
    const a = await start({ serveThreads: 2, connectionLimits: { acceptBurstPerIp: 2, acceptPerIpPerSec: 0.1 } });
    const port = tcpPort(a.addresses());
    const held: tls.TLSSocket[] = [];
    try {
      const results = await Promise.all(Array.from({ length: 12 }, () => tlsOpen(port, ATTACKER_IP, held)));
      const ok = results.filter(Boolean).length;
      // Two accepting loops (the session's and one serve thread), each with a bucket of 2: at most 4 get through.
      expect(ok).toBeGreaterThanOrEqual(2);
      expect(ok).toBeLessThanOrEqual(4);
    } finally {
      for (const s of held) s.destroy();
    }
  }, 30_000);
});
