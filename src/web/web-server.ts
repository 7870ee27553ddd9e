/**
 * The node's own web server (`Node.start({ web: { port, host } })`): the control API (src/control/server.ts,
 * token-guarded), the web UI's static files, and Prometheus `/metrics`.
 *
 * /metrics needs no token when the server is bound to a loopback address (a local Prometheus or node
 * exporter scrapes it; only this machine can reach it). Bound to any other address it takes the token like
 * the API (`Authorization: Bearer …` or `?token=`), since aggregate counts and the node id would otherwise be
 * public. `metrics: 'public' | 'token'` overrides the choice.
 */
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Hono } from 'hono';
import { CONTROL_METHODS, startControlServer, type ControlTarget } from '../control/server.js';
import { toJsonValue } from '../control/json.js';
import { createNodeMetrics, type MetricsSource, type NodeMetrics } from './metrics.js';
import { serveStaticUi } from './static-files.js';

const VERSION = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

export interface WebServerOptions {
  host?: string;
  port?: number;
  token: string;
  /** The built UI folder; defaults to dist/web/ui. */
  uiDir?: string;
  /** Who may read /metrics; by default public on loopback, token elsewhere. */
  metrics?: 'public' | 'token';
  onStopRequested?: () => void;
}

export interface WebServer {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly metrics: NodeMetrics;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

function tokenMatches(given: string | undefined, token: string): boolean {
  if (!given || given.length !== token.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(token));
}

export async function startWebServer(node: ControlTarget & MetricsSource & { dataDir?: string }, opts: WebServerOptions): Promise<WebServer> {
  const host = opts.host ?? '127.0.0.1';
  const metricsPublic = (opts.metrics ?? (isLoopback(host) ? 'public' : 'token')) === 'public';
  const metrics = createNodeMetrics(node);
  const extend = (app: Hono): void => {
    // Which control methods this node implements, so the page can hide what a build lacks.
    const methods = (): string[] => CONTROL_METHODS.filter((m) => typeof node[m] === 'function');
    app.get('/api/v1/methods', (c) => c.json({ methods: methods() }));
    // What the page needs first: who this node is, where its data lives, what it can do.
    app.get('/api/v1/info', (c) => c.json(toJsonValue({ id: node.id, dataDir: node.dataDir ?? null, version: VERSION, methods: methods() }) as object));
    app.get('/metrics', async (c) => {
      if (!metricsPublic) {
        const h = c.req.header('authorization');
        const given = h?.startsWith('Bearer ') ? h.slice(7) : c.req.query('token');
        if (!tokenMatches(given, opts.token)) return c.text('missing or wrong token (see <dataDir>/control-token)\n', 401);
      }
      return c.body(await metrics.render(), 200, { 'content-type': metrics.contentType });
    });
    serveStaticUi(app, opts.uiDir);
  };
  try {
    const server = await startControlServer(node, { host, port: opts.port ?? 0, token: opts.token, extend, onStopRequested: opts.onStopRequested });
    return {
      url: server.url,
      metrics,
      close: async () => {
        await server.close();
        metrics.close();
      },
    };
  } catch (err) {
    metrics.close();
    throw err;
  }
}
