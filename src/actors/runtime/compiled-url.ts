/**
 * Worker threads (and Piscina workers) run compiled JS. When this code itself runs from TypeScript sources
 * (vitest), a sibling `.js` resolved next to a `.ts` file does not exist: point at the same file under dist/,
 * which test/global-setup.ts builds once before the tests.
 */
export function compiledUrl(relative: string, base: string): URL {
  const url = new URL(relative, base);
  if (!base.endsWith('.ts')) return url;
  const href = url.href;
  const at = href.lastIndexOf('/src/');
  return new URL(`${href.slice(0, at)}/dist/${href.slice(at + 5)}`);
}
