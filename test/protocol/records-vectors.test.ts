/**
 * Our own vectors (vectors/records.json) still hold: the generator, run against src/, reproduces every byte,
 * and every encoded record in the file decodes back and re-encodes to the same bytes and verifies.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as p from '../../src/protocol/index.js';
// @ts-ignore — plain .mjs generator shared with `npm run vectors`
import { generate } from '../../scripts/vectors/records.mjs';

const V = JSON.parse(readFileSync(join(import.meta.dirname, '../../vectors/records.json'), 'utf8'));
const h = (s: string): Uint8Array => p.fromHex(s);

describe('vectors/records.json', () => {
  it('is reproduced byte for byte from src/', () => {
    expect(generate(p)).toEqual(V);
  });
  it('manifest decodes, re-encodes, verifies, and its id matches', () => {
    const m = p.decodeManifest(h(V.manifest.structMap));
    expect(p.toHex(p.encodeManifest(m))).toBe(V.manifest.structMap);
    expect(p.toHex(p.verifyManifest(m, 1_700_000_000).manifestId)).toBe(V.manifest.manifestId);
    expect(m.seq).toBe(2n ** 32n);
    expect(m.items[0]!.size).toBe(2n ** 53n + 1n);
  });
  it('share head decodes with u64 max and verifies', () => {
    const head = p.decodeShareHead(h(V.shareHead.map));
    expect(head.latestSeq).toBe(2n ** 64n - 1n);
    expect(p.toHex(p.encodeShareHead(head))).toBe(V.shareHead.map);
    const m = p.decodeManifest(h(V.manifest.structMap));
    expect(p.verifyShareHead(head, m.sharePubkey)).toBe(true);
  });
  it('handshake frames decode and verify at their time', () => {
    for (const f of [V.handshake.clientHelloFrame, V.handshake.serverHelloFrame, V.handshake.clientAckFrame]) {
      const hello = p.decodeHello(h(f).subarray(4));
      expect(p.toHex(p.encodeHandshakeFrame(p.encodeHello(hello)))).toBe(f);
      expect(p.verifyHello(hello, 1_700_000_000)).toEqual({ ok: true });
    }
  });
  it('relay announcement decodes, validates strictly, sits under its rendezvous keys', () => {
    const a = p.decodeRelayAnnouncement(h(V.relayAnnouncement.map));
    expect(p.toHex(p.encodeRelayAnnouncement(a))).toBe(V.relayAnnouncement.map);
    expect(p.checkRelayAnnouncement(a, 1_700_000_000)).toBeNull();
    for (const k of V.relayAnnouncement.rendezvousKeys) expect(p.relayAnnouncementKeyMatches(h(k), a)).toBe(true);
  });
  it('membership token, community members, blocklist, encrypted secret round-trip', () => {
    const t = p.decodeMembershipToken(h(V.membershipToken.map));
    expect(p.toHex(p.encodeMembershipToken(t))).toBe(V.membershipToken.map);
    const cm = p.decodeCommunityMembers(h(V.communityMembers.map));
    expect(p.toHex(p.encodeCommunityMembers(cm))).toBe(V.communityMembers.map);
    expect(cm.members[0]!.relayVia!.slotId).toBe(0x8000000000000001n);
    const b = p.decodeBlocklistRules(h(V.blocklistRules.map));
    expect(p.toHex(p.encodeBlocklistRules(b))).toBe(V.blocklistRules.map);
    const s = p.decodeEncryptedSecret(h(V.encryptedSecret.publisherProtected));
    expect(p.toHex(p.encodeEncryptedSecret(s))).toBe(V.encryptedSecret.publisherProtected);
    expect(p.decryptWithKey(p.publisherKeyProtectionKey(new Uint8Array(32).fill(0xa1)), s)).toEqual(new Uint8Array(32).fill(0xc3));
  });
});
