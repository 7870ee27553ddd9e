/**
 * JSON for the control endpoint: bigints travel as decimal strings and byte arrays as lowercase hex,
 * so every value the embedding API returns can be printed by the CLI and read by the web page.
 */
export function toJsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v instanceof Error) {
    const e = v as Error & { code?: string };
    return { code: e.code ?? 'INTERNAL', message: e.message };
  }
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toJsonValue(x);
    return out;
  }
  return v;
}

export function stringify(v: unknown, pretty = false): string {
  return JSON.stringify(toJsonValue(v), null, pretty ? 2 : undefined);
}
