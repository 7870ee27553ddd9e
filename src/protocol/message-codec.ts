/**
 * The shape every wire-message codec shares, plus the small encode-side checks and the exact-size head
 * writer that the hot paths (envelope, CHUNK_DATA) use to copy a large byte string exactly once.
 *
 * Decoders only ever throw ProtocolError: `defineMessageCodec` wraps the field reader so an unexpected
 * exception inside it (a bug, not a peer fault) still surfaces as a ProtocolError naming the message.
 * Encoders take local values and throw ScpError BAD_INPUT for values the wire cannot carry.
 */
import { ProtocolError, ScpError } from '../errors.js';
import { CborWriter, decodeCbor, type CborValue } from './cbor.js';
import { toU64 } from './bytes.js';

/** Decoded u64 fields are bigint; encoders also accept a number for them (API.md §2). */
export type U64Input<T> = T extends bigint
  ? bigint | number
  : T extends Uint8Array
    ? T
    : T extends readonly (infer E)[]
      ? U64Input<E>[]
      : T extends object
        ? { [K in keyof T]: U64Input<T[K]> }
        : T;

export interface MessageCodec<T> {
  /** The struct name, used as the root of every ProtocolError field path. */
  readonly name: string;
  encode(v: U64Input<T>): Uint8Array;
  decode(bytes: Uint8Array): T;
}

export function defineMessageCodec<T>(
  name: string,
  write: (w: CborWriter, v: U64Input<T>) => void,
  read: (v: CborValue, where: string) => T,
  initialSize = 128,
): MessageCodec<T> {
  return {
    name,
    encode(v) {
      const w = new CborWriter(initialSize);
      write(w, v);
      return w.finish();
    },
    decode(bytes) {
      return guardDecode(name, () => read(decodeCbor(bytes, name), name));
    },
  };
}

/** Runs a decoder and turns anything but a ProtocolError into one, so callers can rely on the error type. */
export function guardDecode<T>(name: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ProtocolError) throw e;
    throw new ProtocolError(`malformed ${name}: ${e instanceof Error ? e.message : String(e)}`, name);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Encode-side checks (local values; BAD_INPUT, not a peer fault)

export function bytesIn(v: unknown, what: string, exact?: number, max?: number): Uint8Array {
  if (!(v instanceof Uint8Array)) throw ScpError.badInput(`${what} must be a Uint8Array`);
  if (exact !== undefined && v.length !== exact) throw ScpError.badInput(`${what} must be ${exact} bytes, got ${v.length}`);
  if (max !== undefined && v.length > max) throw ScpError.badInput(`${what} must be at most ${max} bytes, got ${v.length}`);
  return v;
}

export function uintIn(v: unknown, bits: 8 | 16 | 32, what: string): number {
  const max = bits === 32 ? 0xffff_ffff : (1 << bits) - 1;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw ScpError.badInput(`${what} must be an integer in 0..${max}`);
  }
  return v;
}

export function u64In(v: unknown, what: string): bigint {
  if (typeof v !== 'number' && typeof v !== 'bigint') throw ScpError.badInput(`${what} must be a number or bigint`);
  return toU64(v, what);
}

export function listIn<T>(v: unknown, what: string, max: number): readonly T[] {
  if (!Array.isArray(v)) throw ScpError.badInput(`${what} must be an array`);
  if (v.length > max) throw ScpError.badInput(`${what} has ${v.length} entries, at most ${max} fit the wire limits`);
  return v as T[];
}

// ---------------------------------------------------------------------------------------------------------
// Exact-size writing for the hot paths: compute the size, allocate once, copy the big byte string once.

/** Bytes taken by a CBOR head carrying `n` (n ≤ 2^32−1 on these paths). */
export function headSize(n: number): number {
  return n < 24 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : 5;
}

/** Writes a shortest-form CBOR head at `pos` and returns the position after it. */
export function putHead(out: Uint8Array, pos: number, major: number, n: number): number {
  const m = major << 5;
  if (n < 24) {
    out[pos] = m | n;
    return pos + 1;
  }
  if (n <= 0xff) {
    out[pos] = m | 24;
    out[pos + 1] = n;
    return pos + 2;
  }
  if (n <= 0xffff) {
    out[pos] = m | 25;
    out[pos + 1] = n >>> 8;
    out[pos + 2] = n & 0xff;
    return pos + 3;
  }
  out[pos] = m | 26;
  out[pos + 1] = n >>> 24;
  out[pos + 2] = (n >>> 16) & 0xff;
  out[pos + 3] = (n >>> 8) & 0xff;
  out[pos + 4] = n & 0xff;
  return pos + 5;
}

/** Copies pre-encoded ASCII key bytes (a text head plus the key) at `pos`. */
export function putRaw(out: Uint8Array, pos: number, raw: Uint8Array): number {
  out.set(raw, pos);
  return pos + raw.length;
}
