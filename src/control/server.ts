/**
 * The node's local control endpoint: a JSON API (hono) that the CLI and the web UI use, bound to 127.0.0.1
 * by default and guarded by the data dir's token (header `Authorization: Bearer <token>`, or `?token=` for
 * the web page's first load and the event stream). Calls map 1:1 onto the embedding API's method names, so
 * the CLI, the web page and embedders see the same behaviour and the same typed errors.
 */
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { ScpError } from '../errors.js';
import { stringify, toJsonValue } from './json.js';

/** Methods of the embedding API a client may call through the endpoint (API.md §1). */
export const CONTROL_METHODS = [
  'addresses',
  'peers',
  'connect',
  'health',
  'publishText',
  'publishFiles',
  'publishFolder',
  'listOwnShares',
  'unpublish',
  'subscribe',
  'unsubscribe',
  'syncSubscriptions',
  'listSubscriptions',
  'listShareItems',
  'search',
  'downloadItems',
  'downloadContent',
  'listDownloads',
  'pauseDownload',
  'resumeDownload',
  'cancelDownload',
  'stopSeeding',
  'reannounceSeededContent',
  'listPublicSharesFromPeers',
  'createCommunity',
  'joinCommunity',
  'leaveCommunity',
  'listCommunities',
  'listCommunityParticipants',
  'browseCommunityShares',
  'issueMembershipToken',
  'shareLink',
  'relayStatus',
  'status',
  'limits',
  'setLimits',
] as const;
export type ControlMethod = (typeof CONTROL_METHODS)[number];

export interface ControlEvent {
  type: string;
  [k: string]: unknown;
}

/** What the endpoint needs from a node; `Node` satisfies it. */
export interface ControlTarget {
  readonly id: { nodeId: string; sharePubkey: string; shareId: string };
  readonly events$?: { subscribe(o: { next: (e: ControlEvent) => void }): { unsubscribe(): void } };
  stop(): Promise<void>;
  [method: string]: unknown;
}

export interface ControlServerOptions {
  host?: string;
  port?: number;
  token: string;
  /** Optional extra routes (the web UI's static files, /metrics). */
  extend?: (app: Hono) => void;
  /** Called when a client asks the node to stop (after the reply is sent). */
  onStopRequested?: () => void;
}

export interface ControlServer {
  url: string;
  close(): Promise<void>;
}

const HTTP_STATUS: Record<string, number> = {
  BAD_INPUT: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  CONFLICT: 409,
  TIMEOUT: 504,
  ACTOR_UNAVAILABLE: 503,
  NODE_STOPPED: 503,
  VERIFY_FAILED: 422,
  LIMIT: 429,
};

function tokenOk(c: Context, token: string): boolean {
  const h = c.req.header('authorization');
  const given = h?.startsWith('Bearer ') ? h.slice(7) : c.req.query('token');
  if (!given || given.length !== token.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(token));
}

function errorResponse(c: Context, err: unknown): Response {
  const e = err instanceof ScpError ? err : ScpError.internal((err as Error)?.message ?? String(err), err);
  return c.json({ error: { code: e.code, message: e.message } }, (HTTP_STATUS[e.code] ?? 500) as 500);
}

export function buildControlApp(node: ControlTarget, opts: ControlServerOptions): Hono {
  const app = new Hono();

  app.use('/api/*', async (c, next) => {
    if (!tokenOk(c, opts.token)) {
      return c.json({ error: { code: 'UNAUTHORIZED', message: 'missing or wrong control token (see <dataDir>/control-token)' } }, 401);
    }
    await next();
  });

  app.get('/api/v1/id', (c) => c.json(toJsonValue(node.id) as object));

  app.post('/api/v1/call/:method', async (c) => {
    const method = c.req.param('method');
    if (!(CONTROL_METHODS as readonly string[]).includes(method) || typeof node[method] !== 'function') {
      return errorResponse(c, ScpError.badInput(`unknown method "${method}"`));
    }
    let args: unknown[] = [];
    try {
      const body = (await c.req.json().catch(() => ({}))) as { args?: unknown };
      if (body.args !== undefined) {
        if (!Array.isArray(body.args)) throw ScpError.badInput('"args" must be an array');
        args = body.args;
      }
      const fn = node[method] as (...a: unknown[]) => unknown;
      const result = await fn.apply(node, args);
      return c.body(stringify({ result: result ?? null }), 200, { 'content-type': 'application/json' });
    } catch (err) {
      return errorResponse(c, err);
    }
  });

  app.post('/api/v1/stop', (c) => {
    setImmediate(() => (opts.onStopRequested ? opts.onStopRequested() : void node.stop()));
    return c.json({ result: 'stopping' });
  });

  // Events in the order the node emitted them; `seq` lets a client notice a gap after a reconnect.
  app.get('/api/v1/events', (c) =>
    streamSSE(c, async (stream) => {
      let seq = 0;
      const queue: ControlEvent[] = [];
      let wake: (() => void) | undefined;
      const sub = node.events$?.subscribe({
        next: (e) => {
          queue.push(e);
          wake?.();
        },
      });
      let open = true;
      stream.onAbort(() => {
        open = false;
        wake?.();
      });
      try {
        while (open) {
          while (queue.length && open) {
            const e = queue.shift()!;
            await stream.writeSSE({ id: String(++seq), event: e.type, data: stringify(e) });
          }
          if (!open) break;
          await new Promise<void>((r) => {
            wake = r;
            setTimeout(r, 15_000).unref(); // heartbeat comment keeps proxies and idle timers happy
          });
          wake = undefined;
          if (!queue.length && open) await stream.write(': keep-alive\n\n');
        }
      } finally {
        sub?.unsubscribe();
      }
    }),
  );

  opts.extend?.(app);
  return app;
}

export async function startControlServer(node: ControlTarget, opts: ControlServerOptions): Promise<ControlServer> {
  const app = buildControlApp(node, opts);
  const host = opts.host ?? '127.0.0.1';
  let server: ServerType | undefined;
  const info = await new Promise<AddressInfo>((resolve, reject) => {
    server = serve({ fetch: app.fetch, port: opts.port ?? 0, hostname: host }, resolve);
    server.once('error', reject);
  });
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${info.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        const s = server as unknown as { close(cb: () => void): void; closeAllConnections?: () => void };
        s.close(() => resolve());
        s.closeAllConnections?.();
      }),
  };
}
