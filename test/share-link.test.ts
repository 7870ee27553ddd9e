import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeShareLink, formatAddr, parseAddr, parseShareLink, publisherAddrFromHint, type RelayHint } from '../src/share-link.js';
import { ScpError } from '../src/errors.js';
import { sha256 } from '../src/protocol/hash.js';
import { fromHex, toHex } from '../src/protocol/bytes.js';
import type { PeerAddr } from '../src/protocol/peer-addr.js';

// Conformance key (PROTOCOL.md §16.1): pubkey 03a107bf…, share id 56475aa7…
const PUB = fromHex('03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8');
const ID = fromHex('56475aa75463474c0285df5dbf2bcab73da651358839e9b77481b2eab107708c');

/** The reference desktop app's encoder (app/src/lib/shareLink.ts), re-stated for the compatibility test. */
function referenceEncode(idHex: string, pubHex: string, bp?: string[]): string {
  let link = 'scp2p://s/' + Buffer.from(idHex + pubHex, 'hex').toString('base64url');
  if (bp?.length) link += '?bp=' + encodeURIComponent(bp.join(','));
  return link;
}
/** …and its decoder. */
function referenceDecode(link: string): { id: string; pub: string; bp: string[] } {
  const after = link.trim().slice('scp2p://s/'.length);
  const q = after.indexOf('?');
  const raw = Buffer.from(q >= 0 ? after.slice(0, q) : after, 'base64url');
  const bp = q >= 0 ? new URLSearchParams(after.slice(q + 1)).get('bp') : null;
  return { id: raw.subarray(0, 32).toString('hex'), pub: raw.subarray(32).toString('hex'), bp: bp ? decodeURIComponent(bp).split(',').filter(Boolean) : [] };
}

const expectBad = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ScpError);
    expect((e as ScpError).code).toBe('BAD_INPUT');
    return;
  }
  throw new Error('expected BAD_INPUT');
};

describe('share links', () => {
  it('reads the reference desktop form, with and without bootstrap peers', () => {
    const plain = parseShareLink(referenceEncode(toHex(ID), toHex(PUB)));
    expect(plain).toMatchObject({ version: 1, bootstrap: [], relays: [] });
    expect(toHex(plain.shareId)).toBe(toHex(ID));
    const withBp = parseShareLink(referenceEncode(toHex(ID), toHex(PUB), ['tcp://1.2.3.4:7001', '5.6.7.8:7001', 'quic://[::1]:7000@' + 'ab'.repeat(32)]));
    expect(withBp.bootstrap).toEqual([
      { ip: '1.2.3.4', port: 7001, transport: 'tcp', pubkeyHint: null },
      { ip: '5.6.7.8', port: 7001, transport: 'tcp', pubkeyHint: null },
      { ip: '::1', port: 7000, transport: 'quic', pubkeyHint: new Uint8Array(32).fill(0xab) },
    ]);
  });

  it('emits links the reference decoder still reads', () => {
    const link = encodeShareLink({
      sharePubkey: PUB,
      bootstrap: ['tcp://1.2.3.4:7001'],
      relays: [{ relay: { ip: '9.9.9.9', port: 7001, transport: 'tcp', pubkeyHint: null }, slotId: 0xffffffffffffffffn }],
    });
    expect(link).toMatch(/^scp2p:\/\/s\/[A-Za-z0-9_-]{86}\?v=1&bp=[A-Za-z0-9%._~-]+&r=[A-Za-z0-9%._~-]+$/);
    expect(referenceDecode(link)).toEqual({ id: toHex(ID), pub: toHex(PUB), bp: ['tcp://1.2.3.4:7001'] });
    const back = parseShareLink(link);
    expect(back.relays).toEqual([{ relay: { ip: '9.9.9.9', port: 7001, transport: 'tcp', pubkeyHint: null }, slotId: 0xffffffffffffffffn }]);
    expect(publisherAddrFromHint(back.relays[0]!)!.relayVia!.slotId).toBe(0xffffffffffffffffn);
  });

  it('survives copy-paste damage: wrapping, line breaks, angle brackets', () => {
    const link = encodeShareLink({ sharePubkey: PUB, bootstrap: ['1.2.3.4:7001'] });
    const mangled = `  <${link.slice(0, 30)}\n  ${link.slice(30, 70)}\r\n${link.slice(70)}>  `;
    expect(parseShareLink(mangled)).toEqual(parseShareLink(link));
  });

  it('rejects hostile and broken input with BAD_INPUT', () => {
    const good = encodeShareLink({ sharePubkey: PUB });
    const b64 = good.slice(10, 96);
    const bad = [
      '',
      'http://s/' + b64,
      'scp2p://x/' + b64,
      'scp2p://s/' + b64.slice(1),
      'scp2p://s/' + b64 + 'A',
      'scp2p://s/' + b64.slice(0, 85) + '+',
      'scp2p://s/' + Buffer.from(new Uint8Array(64)).toString('base64url'), // id ≠ SHA-256(pubkey)
      good.replace('v=1', 'v=2'),
      good.replace('v=1', 'v=abc'),
      good + '&v=1',
      good + '&bp=' + encodeURIComponent('example.com:7001'),
      good + '&bp=' + encodeURIComponent('1.2.3.4:0'),
      good + '&bp=' + encodeURIComponent('1.2.3.4:70010'),
      good + '&bp=' + encodeURIComponent('http://1.2.3.4:7001'),
      good + '&bp=' + encodeURIComponent('1.2.3.4:7001@abcd'),
      good + '&bp=' + encodeURIComponent('::1:7001'),
      good + '&bp=%E0%A4%A',
      good + '&r=' + encodeURIComponent('1.2.3.4:7001~-1'),
      good + '&r=' + encodeURIComponent('1.2.3.4:7001~18446744073709551616'),
      good + '#frag',
      good + '&bp=' + encodeURIComponent(Array.from({ length: 40 }, (_, i) => `1.2.3.${i}:7001`).join(',')),
      'scp2p://s/' + 'A'.repeat(9000),
    ];
    for (const s of bad) expectBad(() => parseShareLink(s));
    expectBad(() => parseShareLink(42 as unknown as string));
    expectBad(() => encodeShareLink({ sharePubkey: PUB, shareId: new Uint8Array(32) }));
    expectBad(() => encodeShareLink({ sharePubkey: new Uint8Array(31) }));
  });

  it('the example in docs/SHARE-LINKS.md parses as documented', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync(new URL('../docs/SHARE-LINKS.md', import.meta.url), 'utf8');
    const link = /^scp2p:\/\/s\/[A-Za-z0-9_-]{86}\S*$/m.exec(doc)![0];
    const p = parseShareLink(link);
    expect(toHex(p.shareId)).toBe(toHex(ID));
    expect(p.bootstrap.map(formatAddr)).toEqual(['tcp://1.2.3.4:7001']);
    expect(p.relays).toEqual([{ relay: { ip: '9.9.9.9', port: 7001, transport: 'tcp', pubkeyHint: null }, slotId: 42n }]);
  });

  it('ignores unknown parameters (forward compatible)', () => {
    const link = encodeShareLink({ sharePubkey: PUB }) + '&future=x';
    expect(parseShareLink(link).bootstrap).toEqual([]);
  });

  const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
  const ipv6 = fc.ipV6().map((s) => parseAddr(`[${s}]:1`).ip);
  const addr: fc.Arbitrary<PeerAddr> = fc.record({
    ip: fc.oneof(ipv4, ipv6),
    port: fc.integer({ min: 1, max: 65535 }),
    transport: fc.constantFrom('tcp' as const, 'quic' as const),
    pubkeyHint: fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: null }),
  });
  const hint: fc.Arbitrary<RelayHint> = fc.record({ relay: addr, slotId: fc.option(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { nil: null }) });

  it('property: encode → parse round-trips every field', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.array(addr, { maxLength: 5 }), fc.array(hint, { maxLength: 5 }), (pub, bootstrap, relays) => {
        const link = encodeShareLink({ sharePubkey: pub, bootstrap, relays });
        const p = parseShareLink(link);
        expect(toHex(p.shareId)).toBe(toHex(sha256(pub)));
        expect(p.sharePubkey).toEqual(pub);
        expect(p.bootstrap).toEqual(bootstrap);
        expect(p.relays).toEqual(relays);
        expect(referenceDecode(link).bp).toEqual(bootstrap.map(formatAddr));
        expect(/^[\x21-\x7e]+$/.test(link)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('property: arbitrary text either parses or throws BAD_INPUT, nothing else', () => {
    const good = encodeShareLink({ sharePubkey: PUB, bootstrap: ['1.2.3.4:7001'] });
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string().map((s) => good + s), fc.tuple(fc.nat(good.length), fc.string()).map(([i, s]) => good.slice(0, i) + s + good.slice(i))), (s) => {
        try {
          parseShareLink(s);
        } catch (e) {
          expect(e).toBeInstanceOf(ScpError);
          expect((e as ScpError).code).toBe('BAD_INPUT');
        }
      }),
      { numRuns: 500 },
    );
  });
});
