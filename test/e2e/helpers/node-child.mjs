// One scp2p node in its own process (run inside a network namespace by netns.ts: `ip netns exec NS node
// node-child.mjs <dist/index.js>`), driven by the test over JSON lines — only the public Node API is used.
//   stdin:  {"id":1,"op":"start","config":{…}}  {"id":2,"op":"call","method":"publishFolder","args":[…]}
//           {"id":3,"op":"stop"}   (end of stdin also stops the node and exits)
//   stdout: {"id":1,"result":…} | {"id":1,"error":{"code","message"}} | {"event":{…}} | {"ready":true}
// bigint values travel as decimal strings (JSON has no bigint). Anything else the node prints goes to stderr.
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';

const { Node } = await import(pathToFileURL(process.argv[2]).href);
const out = (msg) => process.stdout.write(JSON.stringify(msg, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');

let node;
let stopping;
const stop = async () => {
  stopping ??= (async () => {
    await node?.stop().catch(() => {});
  })();
  return stopping;
};

async function handle(msg) {
  switch (msg.op) {
    case 'start':
      if (node) throw Object.assign(new Error('already started'), { code: 'CONFLICT' });
      node = await Node.start(msg.config);
      // Every event goes to the test; it filters (events are small apart from progress, ≤ 5/s per download).
      node.events$.subscribe({ next: (e) => out({ event: e }), error: () => {} });
      return { nodeId: node.id.nodeId, shareId: node.id.shareId, addresses: node.addresses() };
    case 'call': {
      if (!node) throw Object.assign(new Error('not started'), { code: 'BAD_INPUT' });
      const fn = node[msg.method];
      if (typeof fn !== 'function') throw Object.assign(new Error(`Node has no method ${msg.method}`), { code: 'BAD_INPUT' });
      return await fn.apply(node, msg.args ?? []);
    }
    case 'stop':
      await stop();
      return { stopped: true };
    default:
      throw Object.assign(new Error(`unknown op ${msg.op}`), { code: 'BAD_INPUT' });
  }
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    return;
  }
  handle(msg).then(
    (result) => out({ id: msg.id, result: result ?? null }),
    (err) => out({ id: msg.id, error: { code: err?.code ?? 'INTERNAL', message: String(err?.message ?? err) } }),
  );
});
rl.on('close', () => {
  void stop().then(() => process.exit(0));
});
out({ ready: true });
