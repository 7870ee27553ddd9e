/**
 * Seeded randomness (sfc32): ids, jitter and sampling draw from one injected stream so that a simulation
 * replays exactly from its seed. Not for keys — those come from node:crypto.
 */

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** A derived, independent stream (one per actor, say) so streams do not interleave by scheduling order. */
  fork(label: string): Random;
}

export function createRandom(seed: number | string): Random {
  const s = typeof seed === 'string' ? hashString(seed) : seed >>> 0;
  let a = 0x9e3779b9 ^ s;
  let b = 0x243f6a88 ^ Math.imul(s, 0x85ebca6b);
  let c = 0xb7e15162 ^ Math.imul(s, 0xc2b2ae35);
  let d = 1;
  const u32 = (): number => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) u32();
  const rnd: Random = {
    next: () => u32() / 0x1_0000_0000,
    int: (n) => Math.floor((u32() / 0x1_0000_0000) * n),
    fork: (label) => createRandom(hashString(`${s}:${label}`)),
  };
  return rnd;
}

function hashString(text: string): number {
  // FNV-1a: enough to spread a label into a 32-bit seed.
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
