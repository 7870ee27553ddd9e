/**
 * `scp2p start`: runs a node in the foreground on an lmdb data dir, serves the local control endpoint for
 * the other commands (and the web UI when --web is given), and stops cleanly on SIGINT/SIGTERM or `scp2p stop`.
 */
import type { Command } from 'commander';
import { loadOrCreateToken, removeControlInfo, writeControlInfo } from '../../control/control-file.js';
import { startControlServer } from '../../control/server.js';
import { ScpError } from '../../errors.js';
import type { NodeLimits } from '../../limits.js';
import { isLogLevel, type LogLevel } from '../../log.js';
import type { Node as NodeClass } from '../../node.js';
import { print } from '../output.js';
import { effectiveSettings, ensureConfigFile, resolveDataDir, type FileSettings } from '../settings.js';

interface StartFlags {
  dataDir?: string;
  port?: string;
  quicPort?: string;
  host?: string;
  bootstrap?: string;
  lan?: boolean;
  web?: string;
  webHost?: string;
  relay?: boolean;
  relays?: string;
  firewalled?: boolean;
  keyPassphraseEnv?: string;
  logLevel?: string;
  json?: boolean;
}

const portOrOff = (v: string | undefined): number | null | undefined => (v === undefined ? undefined : v === 'off' ? null : Number(v));
const list = (v: string | undefined): string[] | undefined => (v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean));

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run a node in the foreground (Ctrl-C or `scp2p stop` ends it)')
    .option('-d, --data-dir <dir>', 'data directory (default $SCP2P_DATA_DIR or ~/.scp2p)')
    .option('-p, --port <port>', 'TLS/TCP listen port, 0 = any free port, off = none (default 7001)')
    .option('--quic-port <port>', 'QUIC listen port, 0 = any, off = none (default 7000)')
    .option('--host <ip>', 'bind address (default 0.0.0.0)')
    .option('--bootstrap <addrs>', 'comma-separated peers: tcp://ip:port, quic://ip:port, ip:port[@pubkeyhex], or scp2p:// share links')
    .option('--lan', 'discover peers on the LAN by UDP broadcast')
    .option('--web <port>', 'serve the web UI on this port (127.0.0.1 unless --web-host)')
    .option('--web-host <ip>', 'bind address of the web UI and control endpoint')
    .option('--relay', 'serve as a relay for firewalled nodes')
    .option('--relays <addrs>', 'relays to register with when firewalled')
    .option('--firewalled', 'this node cannot accept inbound connections: register with a relay')
    .option('--key-passphrase-env <var>', 'read the key passphrase from this environment variable')
    .option('--log-level <level>', 'JSON logs on stderr: fatal, error, warn, info, debug, trace or silent (default info, or $SCP2P_LOG_LEVEL)')
    .option('--json', 'print the start-up summary as JSON')
    .action(async (f: StartFlags) => {
      const dataDir = resolveDataDir(f.dataDir);
      ensureConfigFile(dataDir);
      const flags: FileSettings = {
        port: portOrOff(f.port),
        quicPort: portOrOff(f.quicPort),
        host: f.host,
        bootstrap: list(f.bootstrap),
        lan: f.lan,
        web: f.web === undefined ? undefined : Number(f.web),
        webHost: f.webHost,
        relay: f.relay,
        relays: list(f.relays),
        firewalled: f.firewalled,
      };
      const s = effectiveSettings(dataDir, flags);
      const logLevel = f.logLevel ?? process.env.SCP2P_LOG_LEVEL ?? 'info';
      if (!isLogLevel(logLevel)) throw ScpError.badInput(`--log-level must be one of fatal, error, warn, info, debug, trace, silent`);
      // config.json may hold { "limits": { "maxDownloadBps": 1048576, ... } } (see docs/API.md, NodeLimits)
      const limits = (s as { limits?: Partial<NodeLimits> }).limits;
      const passphrase = f.keyPassphraseEnv ? process.env[f.keyPassphraseEnv] : process.env.SCP2P_KEY_PASSPHRASE;

      // Loaded here so that `scp2p --help` and the client commands never load the engine.
      const { Node } = await import('../../node.js');
      const node = await Node.start({
        dataDir,
        listen: { tcp: s.port, quic: s.quicPort },
        host: s.host,
        bootstrap: s.bootstrap,
        lanDiscovery: s.lan,
        capabilities: { relay: s.relay },
        relays: s.relays ?? [],
        firewalled: s.firewalled,
        keyPassphrase: passphrase || undefined,
        web: s.web === null || s.web === undefined ? undefined : { port: s.web, host: s.webHost },
        logLevel: logLevel as LogLevel,
        limits,
        // config.json may hold "relayService" / "relayClient" objects (docs/API.md "Relays")
        relayService: (s as { relayService?: Record<string, unknown> }).relayService,
        relayClient: (s as { relayClient?: Record<string, unknown> }).relayClient,
      } as Parameters<typeof NodeClass.start>[0]);

      // With --web the node's own web server (UI + control API + /metrics) is the control endpoint;
      // without it, a control-only server on a free loopback port.
      let control: { url: string; close(): Promise<void> };
      let webUrl: string | undefined;
      if (s.web !== null && s.web !== undefined) {
        webUrl = node.webUrl();
        control = { url: new URL(webUrl).origin, close: async () => {} }; // node.stop() closes it
      } else {
        const token = loadOrCreateToken(dataDir);
        control = await startControlServer(node as never, {
          host: s.webHost,
          port: 0,
          token,
          onStopRequested: () => void shutdown('stop requested'),
        });
      }
      writeControlInfo(dataDir, { url: control.url, pid: process.pid, startedAt: Date.now() });
      // `scp2p stop` through the web server, or a failed node, ends the process's work here too.
      node.events$.subscribe({
        next: (e) => {
          if (e.type === 'NodeStopped' || e.type === 'NodeFailed') void shutdown(e.type === 'NodeFailed' ? 'node failed' : 'node stopped');
        },
        error: () => {},
      });

      let stopping = false;
      async function shutdown(why: string): Promise<void> {
        if (stopping) return;
        stopping = true;
        if (!f.json) process.stderr.write(`stopping (${why})…\n`);
        const hard = setTimeout(() => process.exit(1), 15_000);
        hard.unref();
        await control.close().catch(() => {});
        await node.stop().catch(() => {});
        removeControlInfo(dataDir);
        clearTimeout(hard);
      }
      process.once('SIGINT', () => void shutdown('SIGINT'));
      process.once('SIGTERM', () => void shutdown('SIGTERM'));

      const addresses = node.addresses();
      print(f, { ...node.id, addresses, dataDir, control: control.url, web: webUrl ?? null }, () =>
        [
          `scp2p node running (data dir ${dataDir})`,
          `node id:  ${node.id.nodeId}`,
          `share id: ${node.id.shareId}`,
          ...addresses.map((a: string) => `listening: ${a}`),
          ...(webUrl ? [`web UI:   ${webUrl}`, `metrics:  ${control.url}/metrics`] : []),
          `stop with Ctrl-C or: scp2p stop --data-dir ${dataDir}`,
        ].join('\n'),
      );
    });
}
