/** Byte helpers used across the protocol core (hex at the API edge, constant-time-free equality for ids). */
import { ScpError } from '../errors.js';

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(s: string, expectLen?: number, what = 'hex'): Uint8Array {
  if (typeof s !== 'string' || s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw ScpError.badInput(`${what} must be a hex string of even length`);
  }
  const b = new Uint8Array(Buffer.from(s, 'hex'));
  if (expectLen !== undefined && b.length !== expectLen) {
    throw ScpError.badInput(`${what} must be ${expectLen} bytes (${expectLen * 2} hex digits), got ${b.length}`);
  }
  return b;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Big-endian u64 as 8 bytes. */
export function u64be(n: number | bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

/** Accepts number or bigint input for u64 fields; rejects negatives, fractions and values above 2^64−1. */
export function toU64(v: number | bigint, what: string): bigint {
  const b = typeof v === 'bigint' ? v : Number.isInteger(v) ? BigInt(v) : -1n;
  if (b < 0n || b > 0xffff_ffff_ffff_ffffn) throw ScpError.badInput(`${what} must be an integer in 0..2^64-1`);
  return b;
}
