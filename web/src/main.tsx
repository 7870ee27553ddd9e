import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { getInfo, initToken, onStreamStatus, type NodeInfo } from './api.js';
import { useLoad } from './hooks.js';
import { Communities } from './pages/communities.js';
import { Dashboard } from './pages/dashboard.js';
import { Discover } from './pages/discover.js';
import { Downloads } from './pages/downloads.js';
import { Publish } from './pages/publish.js';
import { Search } from './pages/search.js';
import { Settings } from './pages/settings.js';
import './styles.css';

export interface PageProps {
  info: NodeInfo;
  has: (method: string) => boolean;
}

const PAGES: Array<{ path: string; title: string; Page: (p: PageProps) => preact.JSX.Element }> = [
  { path: 'dashboard', title: 'Dashboard', Page: Dashboard },
  { path: 'discover', title: 'Discover', Page: Discover },
  { path: 'publish', title: 'Publish', Page: Publish },
  { path: 'search', title: 'Search', Page: Search },
  { path: 'downloads', title: 'Downloads', Page: Downloads },
  { path: 'communities', title: 'Communities', Page: Communities },
  { path: 'settings', title: 'Settings', Page: Settings },
];

const routeOf = (): string => location.hash.replace(/^#\/?/, '').split('?')[0] || 'dashboard';

function App({ hasToken }: { hasToken: boolean }) {
  const [route, setRoute] = useState(routeOf());
  const [streaming, setStreaming] = useState(false);
  const info = useLoad(getInfo, []);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    const f = () => setRoute(routeOf());
    addEventListener('hashchange', f);
    return () => removeEventListener('hashchange', f);
  }, []);
  useEffect(() => onStreamStatus(setStreaming), []);
  // move focus to the new page's heading, so keyboard and screen-reader users land on it
  useEffect(() => heading.current?.focus(), [route]);
  const page = PAGES.find((p) => p.path === route) ?? PAGES[0]!;

  if (!hasToken || info.error?.code === 'UNAUTHORIZED') {
    return (
      <main id="main" class="narrow">
        <h1>scp2p node</h1>
        <p role="alert">
          This page needs the node's access token. Open the address the node printed (it ends in <code>?token=…</code>), or run{' '}
          <code>scp2p start --web 8080</code> and use its link. The token is in <code>&lt;dataDir&gt;/control-token</code>.
        </p>
      </main>
    );
  }
  const has = (m: string): boolean => info.data?.methods.includes(m) ?? false;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <div class="brand">
          <span class="logo" aria-hidden="true">◆</span> scp2p
        </div>
        <div class="whoami">
          Node id{' '}
          <code data-testid="node-id" title={info.data?.id.nodeId}>
            {info.data?.id.nodeId ?? '…'}
          </code>
        </div>
        <div class={`live ${streaming ? 'on' : 'off'}`} role="status" aria-live="polite">
          {streaming ? 'live' : 'connecting…'}
        </div>
      </header>
      <nav aria-label="Main">
        <ul>
          {PAGES.map((p) => (
            <li key={p.path}>
              <a href={`#/${p.path}`} aria-current={p.path === page.path ? 'page' : undefined}>
                {p.title}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main">
        <h1 tabIndex={-1} ref={heading}>
          {page.title}
        </h1>
        {info.error && <p role="alert" class="notice error">{info.error.code}: {info.error.message}</p>}
        {info.data ? <page.Page info={info.data} has={has} /> : !info.error && <p>Loading…</p>}
      </main>
      <footer class="muted">scp2p {info.data?.version ?? ''} · this page talks only to the node that served it</footer>
    </>
  );
}

const hasToken = Boolean(initToken());
const root = document.getElementById('app')!;
root.textContent = ''; // drop the "Loading…" placeholder (render diffs against existing children)
render(<App hasToken={hasToken} />, root);
