import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLoopback, startWebServer, type WebServer } from '../../src/web/web-server.js';

const TOKEN = 'a'.repeat(64);

function fakeNode() {
  const events = new Subject<{ type: string; [k: string]: unknown }>();
  return {
    events,
    node: {
      id: { nodeId: 'ab'.repeat(32), sharePubkey: 'cd'.repeat(32), shareId: 'ef'.repeat(32) },
      dataDir: '/tmp/fake-data',
      events$: events.asObservable(),
      stop: async () => {},
      health: () => ({
        state: 'running',
        actors: [
          { name: 'session', state: 'running', restarts: 2, lastError: null },
          { name: 'fetcher', state: 'restarting', restarts: 1, lastError: 'boom', mailboxDepth: 3 },
        ],
      }),
      peers: async () => [
        { connected: true, transport: 'quic', relayed: false },
        { connected: true, transport: 'tcp', relayed: true },
        { connected: false, transport: 'tcp', relayed: false },
      ],
      status: async () => ({ ok: true, big: 5n }),
    },
  };
}

describe('web server', () => {
  let ui: string;
  let web: WebServer;
  let remote: WebServer;
  let events: Subject<{ type: string; [k: string]: unknown }>;

  beforeAll(async () => {
    ui = mkdtempSync(join(tmpdir(), 'scp2p-ui-'));
    mkdirSync(join(ui, 'assets'));
    writeFileSync(join(ui, 'index.html'), '<!doctype html><title>ui</title>');
    writeFileSync(join(ui, 'assets', 'app-123.js'), 'console.log(1)');
    writeFileSync(join(tmpdir(), 'scp2p-secret.txt'), 'secret');
    const f = fakeNode();
    events = f.events;
    web = await startWebServer(f.node, { host: '127.0.0.1', port: 0, token: TOKEN, uiDir: ui });
    // the same server as if bound to a LAN address: /metrics then takes the token
    remote = await startWebServer(fakeNode().node, { host: '127.0.0.1', port: 0, token: TOKEN, uiDir: ui, metrics: 'token' });
  });
  afterAll(async () => {
    await web?.close();
    await remote?.close();
    rmSync(ui, { recursive: true, force: true });
  });

  it('refuses the control API without the token, answers with it', async () => {
    for (const path of ['/api/status', '/api/v1/id', '/api/v1/info', '/api/v1/methods', '/api/v1/events']) {
      expect((await fetch(web.url + path)).status, path).toBe(401);
    }
    expect((await fetch(`${web.url}/api/v1/call/status`, { method: 'POST' })).status).toBe(401);
    expect((await fetch(`${web.url}/api/v1/call/status`, { method: 'POST', headers: { authorization: `Bearer ${'b'.repeat(64)}` } })).status).toBe(401);
    const ok = await fetch(`${web.url}/api/v1/call/status`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ result: { ok: true, big: '5' } });
    const info = (await (await fetch(`${web.url}/api/v1/info?token=${TOKEN}`)).json()) as { id: { nodeId: string }; methods: string[]; dataDir: string };
    expect(info.id.nodeId).toBe('ab'.repeat(32));
    expect(info.dataDir).toBe('/tmp/fake-data');
    expect(info.methods).toEqual(['peers', 'health', 'status']);
  });

  it('exports Prometheus text with scp2p_* series fed by events and health', async () => {
    events.next({ type: 'PeerConnected', nodeId: 'x', addr: 'tcp://1.2.3.4:1', transport: 'quic', relayed: false });
    events.next({ type: 'DownloadProgress', id: 'd1', contentId: 'c', bytesDone: 100n, bytesTotal: 1000n, peers: 1 });
    events.next({ type: 'DownloadProgress', id: 'd1', contentId: 'c', bytesDone: 400n, bytesTotal: 1000n, peers: 1 });
    events.next({ type: 'DownloadCompleted', id: 'd1', contentId: 'c', path: '/x' });
    // the fetcher's batched counters (deltas), twice
    events.next({ type: 'TransferStats', chunksVerified: 1, bytesVerified: 262144, chunksRejected: 1, chunksServed: 2, bytesServed: 300000, intervalMs: 250 });
    events.next({ type: 'TransferStats', chunksVerified: 1, bytesVerified: 1000, chunksRejected: 0, chunksServed: 0, bytesServed: 0, intervalMs: 250 });
    events.next({ type: 'DhtLookupCompleted', kind: 'value', ms: 120, ok: true });
    events.next({ type: 'DhtLookupCompleted', kind: 'node', ms: 40, ok: false });
    events.next({ type: 'RelayTunnelOpened', peerNodeId: 'p', slotId: '1' });
    events.next({ type: 'RelayTunnelOpened', peerNodeId: 'q', slotId: '2' });
    events.next({ type: 'RelayTunnelClosed', peerNodeId: 'p', slotId: '1', reason: 'closed' });
    const res = await fetch(`${web.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toMatch(/^# HELP scp2p_/m);
    expect(text).toMatch(/^# TYPE scp2p_peers gauge$/m);
    expect(text).toContain('scp2p_peers{state="connected"} 2');
    expect(text).toContain('scp2p_peers{state="known"} 3');
    expect(text).toContain('scp2p_sessions{transport="quic",relayed="false"} 1');
    expect(text).toContain('scp2p_sessions{transport="tcp",relayed="true"} 1');
    expect(text).toContain('scp2p_peer_connections_total{transport="quic",relayed="false"} 1');
    expect(text).toContain('scp2p_bytes_received_total 263144');
    expect(text).toContain('scp2p_bytes_sent_total 300000');
    expect(text).toContain('scp2p_chunks_served_total 2');
    expect(text).toContain('scp2p_downloads_active 0');
    expect(text).toContain('scp2p_downloads_total{result="completed"} 1');
    expect(text).toContain('scp2p_chunks_verified_total 2');
    expect(text).toContain('scp2p_chunks_rejected_total 1');
    expect(text).toContain('scp2p_dht_lookups_total{kind="value",result="ok"} 1');
    expect(text).toContain('scp2p_dht_lookups_total{kind="node",result="failed"} 1');
    expect(text).toContain('scp2p_dht_lookup_duration_seconds_bucket{le="0.25",kind="value"} 1');
    expect(text).toContain('scp2p_actor_restarts{actor="session"} 2');
    expect(text).toContain('scp2p_actor_running{actor="fetcher"} 0');
    expect(text).toContain('scp2p_actor_mailbox_depth{actor="fetcher"} 3');
    expect(text).toContain('scp2p_relay_tunnels 1');
    expect(text).toMatch(/^scp2p_process_cpu_user_seconds_total /m);
    // every series is ours
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) expect(line).toMatch(/^scp2p_/);
  });

  it('guards /metrics with the token when not public', async () => {
    expect((await fetch(`${remote.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${remote.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect((await fetch(`${remote.url}/metrics?token=${TOKEN}`)).status).toBe(200);
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
    expect(isLoopback('192.168.1.4')).toBe(false);
  });

  it('serves the UI files, with the right types, and nothing outside the UI folder', async () => {
    const page = await fetch(`${web.url}/?token=${TOKEN}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('<title>ui</title>');
    const js = await fetch(`${web.url}/assets/app-123.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect(await (await fetch(`${web.url}/discover`)).text()).toContain('<title>ui</title>'); // deep link
    expect((await fetch(`${web.url}/assets/missing.js`)).status).toBe(404);
    for (const p of ['/../scp2p-secret.txt', '/%2e%2e/scp2p-secret.txt', '/assets/..%2f..%2fscp2p-secret.txt']) {
      const r = await fetch(web.url + p);
      expect(await r.text(), p).not.toContain('secret');
    }
  });

  it('streams events in order with ids', async () => {
    const ac = new AbortController();
    const res = await fetch(`${web.url}/api/v1/events`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: ac.signal });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    await new Promise((r) => setTimeout(r, 50));
    events.next({ type: 'SubscriptionAdded', shareId: '01' });
    events.next({ type: 'SubscriptionRemoved', shareId: '01' });
    let buf = '';
    while (!buf.includes('id: 2')) buf += (await reader.read()).value ?? '';
    ac.abort();
    expect(buf.indexOf('event: SubscriptionAdded')).toBeLessThan(buf.indexOf('event: SubscriptionRemoved'));
  });
});
