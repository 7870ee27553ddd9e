export function bytes(v: unknown): string {
  const n = Number(v ?? 0);
  if (!Number.isFinite(n)) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let x = n;
  let u = 0;
  while (x >= 1024 && u < units.length - 1) {
    x /= 1024;
    u++;
  }
  return `${u === 0 ? x : x.toFixed(x < 10 ? 2 : 1)} ${units[u]}`;
}

export const rate = (bps: number): string => `${bytes(Math.round(bps))}/s`;

export const short = (hex: unknown, n = 16): string => {
  const s = String(hex ?? '');
  return s.length > n ? `${s.slice(0, n)}…` : s;
};

export function when(unixSeconds: unknown): string {
  const n = Number(unixSeconds ?? 0);
  if (!n) return '—';
  return new Date(n * 1000).toLocaleString();
}

export const transportLabel = (t: unknown): string => (t === 'quic' ? 'QUIC' : t === 'tcp' ? 'TLS/TCP' : String(t ?? '?'));
