/**
 * The CBOR subset SCP2P speaks, written by hand because the protocol needs exact shapes that general CBOR
 * libraries choose for us: 32-byte ids as arrays of small ints (not byte strings), struct maps keyed in
 * declaration order (never sorted), shortest integer heads, definite lengths, u64 beyond 2^53 as bigint.
 *
 * Decoding is bounded and total: every length is checked against the bytes that remain before anything is
 * allocated, nesting depth is capped, and every failure is a ProtocolError naming where it happened.
 * Leniency follows the reference decoder (PROTOCOL.md §1.4): indefinite lengths, tags and non-minimal heads
 * are accepted; duplicate map keys are not.
 */
import { ProtocolError } from '../errors.js';

// ---------------------------------------------------------------------------------------------------------
// Writer

const TEXT_ENCODER = new TextEncoder();

export class CborWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  private head(major: number, n: number | bigint): this {
    const m = major << 5;
    if (typeof n === 'bigint') {
      if (n < 0n || n > 0xffff_ffff_ffff_ffffn) throw new RangeError(`CBOR length/int out of u64 range: ${n}`);
      if (n <= 0xffff_ffffn) return this.head(major, Number(n));
      this.ensure(9);
      this.buf[this.pos++] = m | 27;
      this.view.setBigUint64(this.pos, n);
      this.pos += 8;
      return this;
    }
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`CBOR int must be a non-negative integer: ${n}`);
    if (n < 24) {
      this.ensure(1);
      this.buf[this.pos++] = m | n;
    } else if (n <= 0xff) {
      this.ensure(2);
      this.buf[this.pos++] = m | 24;
      this.buf[this.pos++] = n;
    } else if (n <= 0xffff) {
      this.ensure(3);
      this.buf[this.pos++] = m | 25;
      this.view.setUint16(this.pos, n);
      this.pos += 2;
    } else if (n <= 0xffff_ffff) {
      this.ensure(5);
      this.buf[this.pos++] = m | 26;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    } else {
      if (n > Number.MAX_SAFE_INTEGER) throw new RangeError(`CBOR int above 2^53 must be passed as bigint: ${n}`);
      this.ensure(9);
      this.buf[this.pos++] = m | 27;
      this.view.setBigUint64(this.pos, BigInt(n));
      this.pos += 8;
    }
    return this;
  }

  uint(n: number | bigint): this {
    return this.head(0, n);
  }
  bytes(b: Uint8Array): this {
    this.head(2, b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  text(s: string): this {
    const b = TEXT_ENCODER.encode(s);
    this.head(3, b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  array(n: number): this {
    return this.head(4, n);
  }
  map(n: number): this {
    return this.head(5, n);
  }
  bool(v: boolean): this {
    this.ensure(1);
    this.buf[this.pos++] = v ? 0xf5 : 0xf4;
    return this;
  }
  null(): this {
    this.ensure(1);
    this.buf[this.pos++] = 0xf6;
    return this;
  }
  /** Raw bytes of an already-encoded CBOR item. */
  raw(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  /** A fixed-size Rust byte array as serde writes it: an array of small unsigned integers. */
  intArray(b: Uint8Array): this {
    this.head(4, b.length);
    this.ensure(b.length * 2);
    for (let i = 0; i < b.length; i++) {
      const x = b[i]!;
      if (x < 24) this.buf[this.pos++] = x;
      else {
        this.buf[this.pos++] = 0x18;
        this.buf[this.pos++] = x;
      }
    }
    return this;
  }
  /** Writes `null` for null/undefined, else calls `f`. */
  opt<T>(v: T | null | undefined, f: (w: this, v: T) => unknown): this {
    if (v === null || v === undefined) return this.null();
    f(this, v);
    return this;
  }

  get length(): number {
    return this.pos;
  }

  /** The encoded bytes (a copy sized exactly, so the writer's spare capacity is not retained). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

export function encodeWith(f: (w: CborWriter) => unknown, initial = 256): Uint8Array {
  const w = new CborWriter(initial);
  f(w);
  return w.finish();
}

// ---------------------------------------------------------------------------------------------------------
// Decoded values

/** A CBOR map, entries in wire order. Keys are text or unsigned integers on our wire. */
export class CborMap {
  constructor(readonly entries: ReadonlyArray<readonly [CborValue, CborValue]>) {}
  get size(): number {
    return this.entries.length;
  }
  get(key: string | number): CborValue | undefined {
    for (const [k, v] of this.entries) {
      if (k === key) return v;
      if (typeof key === 'number' && typeof k === 'bigint' && BigInt(key) === k) return v;
    }
    return undefined;
  }
  has(key: string | number): boolean {
    return this.get(key) !== undefined;
  }
}

export class CborNegInt {
  constructor(readonly value: bigint) {}
}
export class CborFloat {
  constructor(readonly value: number) {}
}
export class CborSimple {
  constructor(readonly value: number) {}
}
/** CBOR `undefined` (0xf7); the reference treats it like null for Option fields. */
export const CBOR_UNDEFINED: unique symbol = Symbol('cbor-undefined');

export type CborValue =
  | number // unsigned integer ≤ 2^53−1
  | bigint // unsigned integer > 2^53−1
  | Uint8Array
  | string
  | boolean
  | null
  | typeof CBOR_UNDEFINED
  | CborValue[]
  | CborMap
  | CborNegInt
  | CborFloat
  | CborSimple;

// ---------------------------------------------------------------------------------------------------------
// Reader

export interface DecodeLimits {
  /** Maximum nesting of arrays and maps. */
  maxDepth: number;
}

const DEFAULT_LIMITS: DecodeLimits = { maxDepth: 32 };
const TEXT_DECODER = new TextDecoder('utf-8', { fatal: true });
const BREAK = Symbol('break');

class Reader {
  pos = 0;
  private readonly view: DataView;
  constructor(
    readonly buf: Uint8Array,
    readonly what: string,
    readonly limits: DecodeLimits,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(msg: string): never {
    throw new ProtocolError(`${msg} at byte ${this.pos}`, this.what);
  }

  private need(n: number): void {
    if (n > this.buf.length - this.pos) this.fail(`truncated CBOR (need ${n} more bytes)`);
  }

  /** Reads the argument of a head; returns -1 for indefinite length (ai = 31). */
  private arg(ai: number): number | bigint {
    if (ai < 24) return ai;
    switch (ai) {
      case 24:
        this.need(1);
        return this.buf[this.pos++]!;
      case 25: {
        this.need(2);
        const v = this.view.getUint16(this.pos);
        this.pos += 2;
        return v;
      }
      case 26: {
        this.need(4);
        const v = this.view.getUint32(this.pos);
        this.pos += 4;
        return v;
      }
      case 27: {
        this.need(8);
        const v = this.view.getBigUint64(this.pos);
        this.pos += 8;
        return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      case 31:
        return -1;
      default:
        return this.fail(`reserved additional info ${ai}`);
    }
  }

  /** A length that must fit in what remains (each element takes at least one byte). */
  private len(ai: number, minBytesEach: number): number {
    const n = this.arg(ai);
    if (n === -1) return -1;
    if (typeof n === 'bigint' || n * minBytesEach > this.buf.length - this.pos) this.fail(`length ${n} exceeds the input`);
    return n as number;
  }

  item(depth: number): CborValue | typeof BREAK {
    this.need(1);
    const ib = this.buf[this.pos++]!;
    const major = ib >> 5;
    const ai = ib & 0x1f;
    switch (major) {
      case 0: {
        const n = this.arg(ai);
        if (n === -1) this.fail('indefinite-length integer');
        return n;
      }
      case 1: {
        const n = this.arg(ai);
        if (n === -1) this.fail('indefinite-length integer');
        return new CborNegInt(-1n - BigInt(n));
      }
      case 2:
      case 3: {
        const n = this.len(ai, 1);
        let bytes: Uint8Array;
        if (n === -1) {
          const parts: Uint8Array[] = [];
          let total = 0;
          for (;;) {
            this.need(1);
            if (this.buf[this.pos] === 0xff) {
              this.pos++;
              break;
            }
            const c = this.item(depth + 1);
            if (!(c instanceof Uint8Array) && typeof c !== 'string') this.fail('bad chunk in indefinite string');
            const cb = typeof c === 'string' ? new TextEncoder().encode(c) : c;
            parts.push(cb);
            total += cb.length;
          }
          bytes = new Uint8Array(total);
          let o = 0;
          for (const p of parts) {
            bytes.set(p, o);
            o += p.length;
          }
        } else {
          bytes = this.buf.subarray(this.pos, this.pos + n);
          this.pos += n;
        }
        if (major === 2) return bytes;
        try {
          return TEXT_DECODER.decode(bytes);
        } catch {
          return this.fail('invalid UTF-8 in text string');
        }
      }
      case 4: {
        if (depth >= this.limits.maxDepth) this.fail('nesting too deep');
        const n = this.len(ai, 1);
        const out: CborValue[] = [];
        if (n === -1) {
          for (;;) {
            const v = this.item(depth + 1);
            if (v === BREAK) break;
            out.push(v);
          }
        } else {
          for (let i = 0; i < n; i++) out.push(this.value(depth + 1));
        }
        return out;
      }
      case 5: {
        if (depth >= this.limits.maxDepth) this.fail('nesting too deep');
        const n = this.len(ai, 2);
        const entries: [CborValue, CborValue][] = [];
        const seen = new Set<unknown>();
        const add = (k: CborValue, v: CborValue): void => {
          const key = typeof k === 'number' ? `n${k}` : typeof k === 'bigint' ? `n${k}` : typeof k === 'string' ? `s${k}` : undefined;
          if (key !== undefined) {
            if (seen.has(key)) this.fail('duplicate map key');
            seen.add(key);
          }
          entries.push([k, v]);
        };
        if (n === -1) {
          for (;;) {
            const k = this.item(depth + 1);
            if (k === BREAK) break;
            add(k, this.value(depth + 1));
          }
        } else {
          for (let i = 0; i < n; i++) {
            const k = this.value(depth + 1);
            add(k, this.value(depth + 1));
          }
        }
        return new CborMap(entries);
      }
      case 6: {
        // Tags are skipped, as the reference's decoder does.
        const t = this.arg(ai);
        if (t === -1) this.fail('indefinite tag');
        if (depth >= this.limits.maxDepth) this.fail('nesting too deep');
        return this.value(depth + 1);
      }
      default: {
        switch (ai) {
          case 20:
            return false;
          case 21:
            return true;
          case 22:
            return null;
          case 23:
            return CBOR_UNDEFINED;
          case 24: {
            this.need(1);
            return new CborSimple(this.buf[this.pos++]!);
          }
          case 25: {
            this.need(2);
            const h = this.view.getUint16(this.pos);
            this.pos += 2;
            return new CborFloat(halfToFloat(h));
          }
          case 26: {
            this.need(4);
            const f = this.view.getFloat32(this.pos);
            this.pos += 4;
            return new CborFloat(f);
          }
          case 27: {
            this.need(8);
            const f = this.view.getFloat64(this.pos);
            this.pos += 8;
            return new CborFloat(f);
          }
          case 31:
            return BREAK;
          default:
            if (ai < 20) return new CborSimple(ai);
            return this.fail(`reserved simple value ${ai}`);
        }
      }
    }
  }

  value(depth: number): CborValue {
    const v = this.item(depth);
    if (v === BREAK) this.fail('unexpected break');
    return v;
  }
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Decodes exactly one CBOR item spanning all of `bytes` (trailing bytes are an error). */
export function decodeCbor(bytes: Uint8Array, what = 'cbor', limits: Partial<DecodeLimits> = {}): CborValue {
  const r = new Reader(bytes, what, { ...DEFAULT_LIMITS, ...limits });
  if (bytes.length === 0) r.fail('empty input');
  const v = r.value(0);
  if (r.pos !== bytes.length) r.fail(`${bytes.length - r.pos} trailing bytes`);
  return v;
}
