// Start a node, follow its events, read its health, handle a typed error, stop it.
// Run: node docs/examples/01-start-events-errors.mjs   (after npm run build)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Node, ScpError } from 'scp2p';

const dataDir = process.env.SCP2P_EXAMPLE_DIR ?? mkdtempSync(join(tmpdir(), 'scp2p-example-'));
const node = await Node.start({ dataDir, listen: { tcp: 0, quic: null }, host: '127.0.0.1', logLevel: 'warn' });

const seen = [];
node.events$.subscribe({ next: (e) => seen.push(e.type), complete: () => console.log('events:', seen.join(', ')) });

console.log('node id:', node.id.nodeId);
console.log('listening on:', node.addresses().join(' '));
console.log('actors:', node.health().actors.map((a) => `${a.name}=${a.state}`).join(' '));

// Errors carry a stable code you can branch on.
try {
  await node.listShareItems('00'.repeat(32));
} catch (err) {
  if (!(err instanceof ScpError)) throw err;
  console.log(`typed error: ${err.code} (${err.message})`);
}

// Every async call takes { signal, timeoutMs }.
try {
  await node.peers({ signal: AbortSignal.abort() });
} catch (err) {
  console.log('aborted call:', err.code);
}

await node.stop(); // NodeStopped is the last event, then the stream completes
console.log('state:', node.state);
