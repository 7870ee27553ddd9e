// Serve the web UI, read /metrics, see the control API refuse a caller without the token, set limits live.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Node } from 'scp2p';

const dataDir = process.env.SCP2P_EXAMPLE_DIR ?? mkdtempSync(join(tmpdir(), 'scp2p-example-'));
const node = await Node.start({
  dataDir,
  listen: { tcp: 0, quic: null },
  host: '127.0.0.1',
  web: { port: 0, host: '127.0.0.1' }, // 0 = any free port
  limits: { maxConcurrentDownloads: 4 },
});
try {
  const url = node.webUrl(); // open this in a browser
  const origin = new URL(url).origin;
  const token = new URL(url).searchParams.get('token');
  console.log('web UI at', `${origin}/?token=<${token.length} hex digits>`);

  const metrics = await (await fetch(`${origin}/metrics`)).text(); // no token on loopback
  console.log('metrics:', metrics.split('\n').filter((l) => /^scp2p_(peers|actor_running|actor_mailbox_depth)\b/.test(l)).join(' | '));

  const anon = await fetch(`${origin}/api/v1/call/status`, { method: 'POST' });
  console.log('control API without token: HTTP', anon.status);
  const res = await fetch(`${origin}/api/v1/call/status`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  console.log('control API with token: HTTP', res.status, 'peers =', (await res.json()).result.peers);

  const report = await node.setLimits({ maxDownloadBps: 5_000_000, perPeerUploadBps: 1_000_000 });
  console.log('limits now:', JSON.stringify(node.limits()));
  console.log('applied by:', report.applied.map((a) => a.actor).join(', ') || 'none', '| not yet enforced by:', report.unsupported.join(', ') || 'none');
  if (anon.status !== 401) throw new Error('the control API must refuse a caller without the token');
  if (report.unsupported.length > 0 || report.failed.length > 0) throw new Error('every enforcing actor should take the limits');
} finally {
  await node.stop();
}
