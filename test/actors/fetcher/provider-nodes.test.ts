/**
 * The swarm counts nodes, not addresses: a seeder on TLS and QUIC is one provider (one window of requests, one
 * "peer" in progress); relayed addresses and addresses without a key hint stay their own.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeKey, onePerNode } from '../../../src/actors/fetcher/download-job.js';
import { peerAddrKey, type PeerAddr } from '../../../src/protocol/peer-addr.js';

const key = (n: number) => new Uint8Array(32).fill(n);
const addr = (port: number, transport: 'tcp' | 'quic', hint: number | null, relay = false): PeerAddr => ({
  ip: '10.0.0.1',
  port,
  transport,
  pubkeyHint: hint === null ? null : key(hint),
  ...(relay ? { relayVia: { relayAddr: { ip: '10.0.0.9', port: 9, transport: 'tcp', pubkeyHint: key(99) }, slotId: 1n } } : {}),
});

describe('providers: one per node', () => {
  it('keeps the first address of each node; relayed and unhinted addresses count on their own', () => {
    const list = [addr(7001, 'tcp', 1), addr(7000, 'quic', 1), addr(7101, 'quic', 2), addr(7100, 'tcp', 2), addr(5, 'tcp', null), addr(6, 'tcp', null), addr(7, 'tcp', 1, true)];
    expect(onePerNode(list).map(peerAddrKey)).toEqual([list[0], list[2], list[4], list[5], list[6]].map((a) => peerAddrKey(a!)));
  });

  it('property: the result is the input less later addresses of a node already seen, in order', () => {
    const arbAddr = fc.record({
      port: fc.integer({ min: 1, max: 6 }),
      quic: fc.boolean(),
      hint: fc.option(fc.integer({ min: 1, max: 3 }), { nil: null }),
      relay: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(arbAddr, { maxLength: 12 }), (specs) => {
        const list = specs.map((s) => addr(s.port, s.quic ? 'quic' : 'tcp', s.hint, s.relay));
        const out = onePerNode(list);
        const keys = out.map(nodeKey);
        expect(new Set(keys).size).toBe(keys.length); // one per node
        expect(new Set(keys)).toEqual(new Set(list.map(nodeKey))); // every node kept
        // Each kept address is the first of its node in the input.
        for (const a of out) expect(list.find((b) => nodeKey(b) === nodeKey(a))).toBe(a);
      }),
    );
  });
});
