/**
 * Typed readers over decoded CBOR values. Each takes the field path (`where`) so a ProtocolError says exactly
 * which field of which message was wrong. Leniency follows the reference (PROTOCOL.md §1.4): fixed-size byte
 * fields accept an int array or a byte string; null and undefined both mean "absent" for optional fields.
 */
import { ProtocolError } from '../errors.js';
import { CBOR_UNDEFINED, CborMap, type CborValue } from './cbor.js';

export function fail(where: string, msg: string): never {
  throw new ProtocolError(msg, where);
}

export function asMap(v: CborValue | undefined, where: string): CborMap {
  if (!(v instanceof CborMap)) fail(where, 'expected a map');
  return v;
}

export function asArray(v: CborValue | undefined, where: string, max: number): CborValue[] {
  if (!Array.isArray(v)) fail(where, 'expected an array');
  if (v.length > max) fail(where, `too many elements (${v.length} > ${max})`);
  return v;
}

export function isAbsent(v: CborValue | undefined): boolean {
  return v === undefined || v === null || v === CBOR_UNDEFINED;
}

/** A required map field. */
export function req(m: CborMap, key: string | number, where: string): CborValue {
  const v = m.get(key);
  if (v === undefined) fail(`${where}.${key}`, 'missing field');
  return v;
}

/** An optional map field: missing, null and undefined all give undefined. */
export function opt(m: CborMap, key: string | number): CborValue | undefined {
  const v = m.get(key);
  return isAbsent(v) ? undefined : v;
}

function uintMax(v: CborValue | undefined, max: number, bits: number, where: string): number {
  if (typeof v !== 'number') fail(where, `expected u${bits}`);
  if (v > max) fail(where, `u${bits} out of range: ${v}`);
  return v;
}

export const u8 = (v: CborValue | undefined, where: string): number => uintMax(v, 0xff, 8, where);
export const u16 = (v: CborValue | undefined, where: string): number => uintMax(v, 0xffff, 16, where);
export const u32 = (v: CborValue | undefined, where: string): number => uintMax(v, 0xffff_ffff, 32, where);

export function u64(v: CborValue | undefined, where: string): bigint {
  if (typeof v === 'number') return BigInt(v);
  if (typeof v === 'bigint') return v;
  return fail(where, 'expected u64');
}

export function bool(v: CborValue | undefined, where: string): boolean {
  if (typeof v !== 'boolean') fail(where, 'expected a bool');
  return v;
}

export function text(v: CborValue | undefined, where: string, maxBytes = 65_536): string {
  if (typeof v !== 'string') fail(where, 'expected a text string');
  // UTF-16 length is a cheap upper bound check; exact byte length only when close to the limit.
  if (v.length > maxBytes || (v.length * 3 > maxBytes && Buffer.byteLength(v) > maxBytes)) fail(where, 'text too long');
  return v;
}

/** Bytes encoded either as an int array (serde's default for [u8; N]/Vec<u8>) or a byte string. */
export function anyBytes(v: CborValue | undefined, where: string, max: number): Uint8Array {
  if (v instanceof Uint8Array) {
    if (v.length > max) fail(where, `byte field too long (${v.length} > ${max})`);
    return v;
  }
  if (Array.isArray(v)) {
    if (v.length > max) fail(where, `byte field too long (${v.length} > ${max})`);
    const out = new Uint8Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (typeof x !== 'number' || x > 255) fail(`${where}[${i}]`, 'expected a byte (0..255)');
      out[i] = x;
    }
    return out;
  }
  return fail(where, 'expected bytes (int array or byte string)');
}

/** Exactly `n` bytes, int array or byte string. */
export function fixed(v: CborValue | undefined, n: number, where: string): Uint8Array {
  const b = anyBytes(v, where, n);
  if (b.length !== n) fail(where, `expected ${n} bytes, got ${b.length}`);
  return b;
}

export const b32 = (v: CborValue | undefined, where: string): Uint8Array => fixed(v, 32, where);

/** A real CBOR byte string (the integer-keyed messages insist on one, PROTOCOL.md §1.4). */
export function byteString(v: CborValue | undefined, where: string, max: number, exact?: number): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(where, 'expected bytes');
  if (exact !== undefined && v.length !== exact) fail(where, `expected ${exact} bytes, got ${v.length}`);
  if (v.length > max) fail(where, `byte string too long (${v.length} > ${max})`);
  return v;
}

export function oneOf<T extends string>(v: CborValue | undefined, allowed: readonly T[], where: string): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) fail(where, `expected one of ${allowed.join('|')}`);
  return v as T;
}

export function list<T>(v: CborValue | undefined, where: string, max: number, f: (x: CborValue, where: string) => T): T[] {
  const a = asArray(v, where, max);
  return a.map((x, i) => f(x, `${where}[${i}]`));
}
