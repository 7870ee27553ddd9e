/**
 * The CLI's side of the control endpoint: finds the running node of a data dir and calls it.
 * With no node running it says so, and how to start one.
 */
import { ScpError, type ScpErrorCode } from '../errors.js';
import { readControlInfo, readToken } from './control-file.js';

export interface ControlClient {
  url: string;
  call<T = unknown>(method: string, args?: unknown[], opts?: { timeoutMs?: number }): Promise<T>;
  stop(): Promise<void>;
  events(signal: AbortSignal): AsyncIterable<{ event: string; data: unknown }>;
}

function noNode(dataDir: string): ScpError {
  return new ScpError(
    'NOT_FOUND',
    `no scp2p node is running for data dir ${dataDir}; start one with: scp2p start --data-dir ${dataDir}`,
  );
}

export async function connectControl(dataDir: string): Promise<ControlClient> {
  const info = readControlInfo(dataDir);
  const token = readToken(dataDir);
  if (!info || !token) throw noNode(dataDir);
  try {
    process.kill(info.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') throw noNode(dataDir);
  }
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

  async function post(path: string, body: unknown, timeoutMs: number): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${info!.url}${path}`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      if ((e as Error).name === 'TimeoutError') throw ScpError.timeout(`control call ${path}`, timeoutMs);
      throw noNode(dataDir);
    }
    const json = (await res.json().catch(() => ({}))) as { result?: unknown; error?: { code: ScpErrorCode; message: string } };
    if (!res.ok || json.error) {
      throw new ScpError(json.error?.code ?? 'INTERNAL', json.error?.message ?? `control endpoint answered HTTP ${res.status}`);
    }
    return json.result;
  }

  return {
    url: info.url,
    call: async <T>(method: string, args: unknown[] = [], opts: { timeoutMs?: number } = {}) =>
      (await post(`/api/v1/call/${method}`, { args }, opts.timeoutMs ?? 600_000)) as T,
    stop: async () => {
      await post('/api/v1/stop', {}, 10_000);
    },
    async *events(signal: AbortSignal) {
      const res = await fetch(`${info.url}/api/v1/events`, { headers, signal });
      if (!res.body) return;
      const decoder = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data += line.slice(5).trim();
          }
          if (data) yield { event, data: JSON.parse(data) as unknown };
        }
      }
    },
  };
}
