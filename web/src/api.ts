/**
 * The page's side of the control endpoint. The token arrives once in the URL (`?token=`), moves to
 * sessionStorage (gone when the tab closes) and leaves the address bar; every call sends it as a Bearer header.
 */
const TOKEN_KEY = 'scp2p.token';

export function initToken(): string | null {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token') ?? new URLSearchParams(url.hash.split('?')[1] ?? '').get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + (url.hash.split('?')[0] ?? ''));
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

function headers(): Record<string, string> {
  return { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) ?? ''}`, 'content-type': 'application/json' };
}

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function readJson<T>(res: Response): Promise<T> {
  const json = (await res.json().catch(() => ({}))) as { result?: unknown; error?: { code: string; message: string } };
  if (!res.ok || json.error) throw new ApiError(json.error?.code ?? `HTTP_${res.status}`, json.error?.message ?? `the node answered HTTP ${res.status}`);
  return (json.result ?? json) as T;
}

/** Calls an embedding-API method by name (the same names as `node.<method>(...)`). */
export async function call<T = unknown>(method: string, ...args: unknown[]): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`/api/v1/call/${encodeURIComponent(method)}`, { method: 'POST', headers: headers(), body: JSON.stringify({ args }) });
  } catch {
    throw new ApiError('UNREACHABLE', 'the node does not answer; is it still running?');
  }
  return readJson<T>(res);
}

export async function get<T>(path: string): Promise<T> {
  return readJson<T>(await fetch(path, { headers: headers() }));
}

export interface NodeInfo {
  id: { nodeId: string; sharePubkey: string; shareId: string; nodePubkey?: string };
  dataDir: string;
  version: string;
  methods: string[];
}

export const getInfo = (): Promise<NodeInfo> => get<NodeInfo>('/api/v1/info');

export interface NodeEventMsg {
  type: string;
  seq: number;
  [k: string]: unknown;
}

/**
 * One event stream for the whole page (SSE read with fetch, so the token stays in a header), fanned out to
 * listeners; reconnects with backoff. Events arrive in the node's order; `seq` restarts per connection.
 */
const listeners = new Set<(e: NodeEventMsg) => void>();
const statusListeners = new Set<(connected: boolean) => void>();
let started = false;

export function onEvent(fn: (e: NodeEventMsg) => void): () => void {
  listeners.add(fn);
  ensureStream();
  return () => listeners.delete(fn);
}

export function onStreamStatus(fn: (connected: boolean) => void): () => void {
  statusListeners.add(fn);
  return () => statusListeners.delete(fn);
}

function ensureStream(): void {
  if (started) return;
  started = true;
  void (async () => {
    let delay = 500;
    for (;;) {
      try {
        const res = await fetch('/api/v1/events', { headers: headers() });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        statusListeners.forEach((f) => f(true));
        delay = 500;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let i: number;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            let id = 0;
            let data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('id:')) id = Number(line.slice(3).trim());
              else if (line.startsWith('data:')) data += line.slice(5).trim();
            }
            if (!data) continue;
            const e = { ...(JSON.parse(data) as object), seq: id } as NodeEventMsg;
            listeners.forEach((f) => f(e));
          }
        }
      } catch {
        // fall through to the reconnect
      }
      statusListeners.forEach((f) => f(false));
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  })();
}
