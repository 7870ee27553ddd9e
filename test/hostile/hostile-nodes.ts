/**
 * Scaffolding of the live hostile tests: nodes on loopback started with `start`, hostile wire clients pushed onto
 * `clients`, temp folders from `tmp`; after every test the clients are closed, then the nodes stopped and the
 * folders removed (nodeTestDirs). Call at the top level of a test file.
 */
import path from 'node:path';
import { afterEach } from 'vitest';
import { Node } from '../../src/index.js';
import { nodeTestDirs } from '../node/node-test-helpers.js';
import type { WireClient } from './wire-client.js';

export function hostileNodes(prefix: string): {
  nodes: Node[];
  clients: WireClient[];
  tmp: (prefix?: string) => string;
  start: (opts?: Partial<Parameters<typeof Node.start>[0]>) => Promise<Node>;
} {
  const { nodes, tmp } = nodeTestDirs(prefix);
  const clients: WireClient[] = [];
  // Registered after nodeTestDirs' hook, so it runs first (after-hooks run in reverse): clients go before their nodes.
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  const start = async (opts: Partial<Parameters<typeof Node.start>[0]> = {}): Promise<Node> => {
    const n = await Node.start({ dataDir: path.join(tmp(), 'node'), listen: { tcp: 0, quic: null }, host: '127.0.0.1', ...opts });
    nodes.push(n);
    return n;
  };
  return { nodes, clients, tmp, start };
}
