/** `scp2p id | peers | status | stop`: read-only views of the running node, and stopping it. */
import type { Command } from 'commander';
import { connectControl } from '../../control/client.js';
import { print } from '../output.js';
import { resolveDataDir } from '../settings.js';

interface Common {
  dataDir?: string;
  json?: boolean;
}

export function withCommon(cmd: Command): Command {
  return cmd
    .option('-d, --data-dir <dir>', 'data directory of the node (default $SCP2P_DATA_DIR or ~/.scp2p)')
    .option('--json', 'machine-readable output');
}

export function registerNodeInfo(program: Command): void {
  withCommon(program.command('id').description('show the running node\'s ids and addresses')).action(async (o: Common) => {
    const c = await connectControl(resolveDataDir(o.dataDir));
    const status = await c.call<{ id: Record<string, string>; addresses: string[] }>('status');
    print(o, { ...status.id, addresses: status.addresses }, () =>
      [`node id:      ${status.id.nodeId}`, `share pubkey: ${status.id.sharePubkey}`, `share id:     ${status.id.shareId}`, ...status.addresses.map((a) => `address:      ${a}`)].join('\n'),
    );
  });

  withCommon(program.command('peers').description('list known peers and how they are reached')).action(async (o: Common) => {
    const c = await connectControl(resolveDataDir(o.dataDir));
    const peers = await c.call<Array<{ nodeId?: string; addresses: string[]; transport?: string; connected: boolean; relayed?: boolean; lastSeen?: string }>>('peers');
    print(o, peers, () =>
      peers.length === 0
        ? 'no peers known yet (connect with --bootstrap, or enable --lan)'
        : peers
            .map((p) => `${(p.nodeId ?? '?').slice(0, 16)}  ${p.connected ? 'connected' : 'known    '}  ${p.transport ?? '-'}${p.relayed ? ' (relayed)' : ''}  ${p.addresses.join(' ')}`)
            .join('\n'),
    );
  });

  withCommon(program.command('status').description('actor health, peers and transfers of the running node')).action(async (o: Common) => {
    const c = await connectControl(resolveDataDir(o.dataDir));
    const s = await c.call<{ id: { nodeId: string }; addresses: string[]; peers: number; health: { state?: string; actors: Array<{ name: string; state: string; restarts: number; lastError?: string | null }> } }>('status');
    print(o, s, () =>
      [
        `node ${s.id.nodeId}  ${s.health.state ?? ''}`,
        `addresses: ${s.addresses.join(' ') || '(none)'}`,
        `peers: ${s.peers}`,
        ...s.health.actors.map((a) => `  ${a.name.padEnd(12)} ${a.state.padEnd(11)} restarts=${a.restarts}${a.lastError ? `  last error: ${a.lastError}` : ''}`),
      ].join('\n'),
    );
  });

  withCommon(program.command('stop').description('stop the running node of this data dir')).action(async (o: Common) => {
    const c = await connectControl(resolveDataDir(o.dataDir));
    await c.stop();
    print(o, { stopping: true }, () => 'node is stopping');
  });
}
