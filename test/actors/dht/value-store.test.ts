import { describe, expect, it } from 'vitest';
import { ValueStore, clampTtlSecs, remainingTtlSecs } from '../../../src/actors/dht/value-store.js';

const key = (n: number): Uint8Array => new Uint8Array(32).fill(n);

describe('ValueStore', () => {
  it('clamps TTL to 1..604800 s and raises remote writes to the 24 h floor', () => {
    expect(clampTtlSecs(0, false)).toBe(1);
    expect(clampTtlSecs(10, true)).toBe(86_400);
    expect(clampTtlSecs(10_000_000, true)).toBe(604_800);
    const s = new ValueStore();
    const r = s.put(key(1), Uint8Array.of(1), 10, 0, { remote: true, writer: 'p' });
    expect(r.ok && r.value.expiresAt).toBe(86_400_000);
    expect(remainingTtlSecs(s.peek(key(1), 86_399_500)!, 86_399_500)).toBe(1);
  });

  it('rejects values over 64 KiB with the reference text', () => {
    const r = new ValueStore().put(key(1), new Uint8Array(65_537), 60, 0);
    expect(r.ok ? '' : r.error.wireText).toBe('dht value exceeds 64KiB');
  });

  it('evicts expired values when full, then refuses new keys; replacement keeps the lookup counter', () => {
    const s = new ValueStore({}, { maxValues: 2 });
    s.put(key(1), Uint8Array.of(1), 1, 0);
    s.put(key(2), Uint8Array.of(2), 100, 0);
    expect(s.put(key(3), Uint8Array.of(3), 100, 2_000).ok).toBe(true); // key 1 expired and was evicted
    const full = s.put(key(4), Uint8Array.of(4), 100, 2_000);
    expect(full.ok ? '' : full.error.code).toBe('STORE_FULL');
    for (let i = 0; i < 5; i++) s.get(key(2), 2_000);
    s.put(key(2), Uint8Array.of(9), 100, 2_000);
    expect(s.isPopular(s.peek(key(2), 2_000)!)).toBe(true);
    expect(s.get(key(2), 200_000)).toBeUndefined(); // purged on lookup
  });

  it('charges a per-writer quota', () => {
    const s = new ValueStore({}, { perPeerQuota: 2 });
    expect(s.put(key(1), Uint8Array.of(1), 60, 0, { writer: 'a' }).ok).toBe(true);
    expect(s.put(key(2), Uint8Array.of(1), 60, 0, { writer: 'a' }).ok).toBe(true);
    const r = s.put(key(3), Uint8Array.of(1), 60, 0, { writer: 'a' });
    expect(r.ok ? '' : r.error.code).toBe('QUOTA');
    expect(s.put(key(1), Uint8Array.of(2), 60, 0, { writer: 'a' }).ok).toBe(true); // rewriting own key is fine
    expect(s.put(key(3), Uint8Array.of(1), 60, 0, { writer: 'b' }).ok).toBe(true);
  });
});
