/**
 * The replay digest: instants are ordered, events inside one instant form a set (their real-time interleaving is
 * not a simulated fact), and the bytes an event carried count.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimTrace } from '../../src/sim/sim-trace.js';

type Ev = { t: number; what: string; bytes?: Uint8Array };

function digestOf(events: Ev[], keepAll = false): { digest: string; lines: string[] | undefined } {
  const tr = new SimTrace({ keepAll, origin: 1000 });
  for (const e of events) {
    tr.record(e.t, e.what);
    if (e.bytes) tr.content(e.bytes);
  }
  return { digest: tr.digest(), lines: tr.lines };
}

/** Events in time order: instants 1000.. with a few events each. */
const arbRun = fc
  .array(fc.array(fc.record({ what: fc.string({ minLength: 1, maxLength: 6 }), bytes: fc.option(fc.uint8Array({ minLength: 1, maxLength: 8 }), { nil: undefined }) }), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 })
  .map((instants) => instants.map((evs, i) => evs.map((e) => ({ ...e, t: 1000 + i * 7 }))));

describe('SimTrace', () => {
  it('gives one digest for any order of the events inside each instant', () => {
    fc.assert(
      fc.property(arbRun, fc.integer(), (instants, salt) => {
        const straight = instants.flat();
        const shuffled = instants.flatMap((evs) => [...evs].sort((a, b) => (((a.what.length * 31) ^ salt) & 7) - (((b.what.length * 31) ^ salt) & 7)).reverse());
        expect(digestOf(shuffled).digest).toBe(digestOf(straight).digest);
        expect(digestOf(shuffled, true).lines).toEqual(digestOf(straight, true).lines);
      }),
    );
  });

  it('tells apart an event moved to another instant and bytes that differ', () => {
    const base: Ev[] = [
      { t: 1000, what: 'a' },
      { t: 1005, what: 'b', bytes: Uint8Array.of(1, 2) },
      { t: 1005, what: 'c' },
    ];
    const d = digestOf(base).digest;
    expect(digestOf([base[0]!, { ...base[1]!, t: 1000 }, { ...base[2]!, t: 1005 }]).digest).not.toBe(d);
    expect(digestOf([base[0]!, { ...base[1]!, bytes: Uint8Array.of(1, 3) }, base[2]!]).digest).not.toBe(d);
    expect(digestOf([base[0]!, base[2]!, base[1]!]).digest).toBe(d);
    // Lines read as ms since the origin; the pending instant shows too.
    expect(digestOf(base, true).lines?.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(['0 a', '5 b', '5 c']);
  });

  it('refuses bytes with no event to carry them', () => {
    expect(() => new SimTrace().content(Uint8Array.of(1))).toThrow(/no event/);
  });
});
