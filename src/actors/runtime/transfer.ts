/**
 * Marks a value to be sent with a transfer list: its ArrayBuffers move to the other thread instead of being
 * copied (ARCHITECTURE.md: allocation, not the hop, is the cost — so the buffers also come back to a pool).
 */

const TRANSFER = Symbol.for('scp2p.transfer');

export interface Transfer<T> {
  readonly [TRANSFER]: true;
  readonly value: T;
  readonly list: readonly ArrayBuffer[];
}

export function withTransfer<T>(value: T, list: readonly ArrayBuffer[]): Transfer<T> {
  return { [TRANSFER]: true, value, list };
}

export function unwrapTransfer(v: unknown): { value: unknown; list: readonly ArrayBuffer[] } {
  if (v !== null && typeof v === 'object' && (v as Record<symbol, unknown>)[TRANSFER] === true) {
    const t = v as Transfer<unknown>;
    return { value: t.value, list: t.list };
  }
  return { value: v, list: [] };
}

/** What a reply resolves to on the caller's side: the transfer marker is gone. */
export type Unwrapped<T> = T extends Transfer<infer U> ? U : T;
