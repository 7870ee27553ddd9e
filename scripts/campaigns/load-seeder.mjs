#!/usr/bin/env node
// The seeder that load.mjs puts under load: its own process (so its RSS and event loop are its own), the
// built package through the public API, with its control endpoint on (the load generator calls `status`
// through it during the load). It publishes `--file`'s folder and prints one JSON line with its address, the
// item and the control URL, then a sample line every 500 ms (RSS, main-thread event-loop delay over the last
// interval, actor health) until stdin closes or it gets SIGTERM.
import { dirname } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadScp2p } from './common.mjs';

const [dataDir, file, serveThreads] = process.argv.slice(2);
const say = (ev, f = {}) => process.stdout.write(`${JSON.stringify({ ev, t: Date.now(), ...f }, (_, v) => (typeof v === 'bigint' ? String(v) : v))}\n`);

const { Node } = await loadScp2p();
const node = await Node.start({ dataDir, listen: { tcp: 0, quic: null }, host: '127.0.0.1', logLevel: 'error', web: { port: 0 }, ...(serveThreads ? { serveThreads: Number(serveThreads) } : {}) });
const pub = await node.publishFolder(dirname(file), { title: 'load campaign', visibility: 'private' });
const items = await node.listShareItems(pub.shareId);
const web = new URL(node.webUrl());
say('ready', { addresses: node.addresses(), item: items[0], control: web.origin, token: web.searchParams.get('token') });

const eld = monitorEventLoopDelay({ resolution: 10 });
eld.enable();
const timer = setInterval(() => {
  say('sample', {
    rssMiB: +(process.memoryUsage().rss / 1048576).toFixed(1),
    eldP50Ms: +(eld.percentile(50) / 1e6).toFixed(2),
    eldP99Ms: +(eld.percentile(99) / 1e6).toFixed(2),
    eldMaxMs: +(eld.max / 1e6).toFixed(2),
    actors: node.health().actors.map((a) => `${a.name}:${a.state}:${a.restarts}`).join(' '),
  });
  eld.reset();
}, 500);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  clearInterval(timer);
  await node.stop();
  say('stopped');
  process.exit(0);
};
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
