/**
 * The web UI's built files (vite output, `dist/web/ui/`) served from memory-light disk reads. Only files under
 * the UI folder are reachable; unknown paths without an extension get index.html (the page routes by hash,
 * so this only matters for a reload on a deep link).
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';
import { compiledUrl } from '../actors/runtime/compiled-url.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Where `npm run build` puts the UI, whether this module runs from dist/ or from src/ (tests). */
export function defaultUiDir(): string {
  return fileURLToPath(compiledUrl('./ui/', import.meta.url));
}

// The page may only talk to its own origin; no inline scripts, no remote fonts or CDNs.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export function serveStaticUi(app: Hono, dir: string = defaultUiDir()): void {
  const root = resolve(dir);
  app.get('*', async (c, next) => {
    const urlPath = decodeURIComponent(new URL(c.req.url).pathname);
    if (urlPath.startsWith('/api/') || urlPath === '/metrics') return next();
    let file = resolve(join(root, urlPath));
    if (file !== root && !file.startsWith(root + sep)) return c.text('not found', 404);
    let info = await stat(file).catch(() => undefined);
    if (info?.isDirectory()) {
      file = join(file, 'index.html');
      info = await stat(file).catch(() => undefined);
    }
    if (!info && !extname(urlPath)) {
      file = join(root, 'index.html');
      info = await stat(file).catch(() => undefined);
    }
    if (!info?.isFile()) {
      if (!existsSync(join(root, 'index.html'))) {
        return c.text(`the web UI is not built (no ${root}); run \`npm run build\``, 404);
      }
      return c.text('not found', 404);
    }
    const body = await readFile(file);
    const isHtml = file.endsWith('.html');
    return c.body(body, 200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      // hashed asset names never change; the page itself must be fresh
      'cache-control': isHtml ? 'no-store' : 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      ...(isHtml ? { 'content-security-policy': CSP } : {}),
    });
  });
}
