/**
 * A network lab for end-to-end tests across real network boundaries: Linux network namespaces ("hosts") joined
 * by veth pairs on bridges ("segments", all in one switch namespace). Hosts on different segments talk through a
 * router namespace that forwards IPv4 between the segments but, like any router, not broadcasts — so LAN
 * discovery stays inside a segment. Each host can get an iptables firewall and run scp2p nodes (node-child.mjs,
 * driven over stdin/stdout JSON lines through the public Node API of dist/).
 *
 * Addressing: the k-th host (1-based, in spec order) on segment s is 10.90.s.k/24; the router is 10.90.s.254.
 * Names are unique per process (`r2p-<pid>-<n>-…`), so concurrent runs cannot collide; namespaces left behind
 * by a run that died are swept on the next create. Veths are created directly inside the namespaces, so
 * nothing is ever added to the root namespace. Needs root (CAP_SYS_ADMIN), iproute2 and iptables:
 * `netnsSkipReason()` says why a test must skip.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '../../..');
const DIST = path.join(ROOT, 'dist/index.js');
const NODE_CHILD = path.join(here, 'node-child.mjs');
const RAW_PEER_CHILD = path.join(here, 'raw-peer-child.mjs');
const PROTOCOL_DIST = path.join(ROOT, 'dist/protocol/index.js');
const PREFIX = 'r2p';

const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

/** Why namespace tests cannot run here (undefined: they can). Checked once per process. */
let skipWhy: string | undefined | null = null;
export function netnsSkipReason(): string | undefined {
  if (skipWhy !== null) return skipWhy;
  skipWhy = (() => {
    if (process.platform !== 'linux') return 'not Linux';
    if (process.getuid?.() !== 0) return 'not root (network namespaces need CAP_SYS_ADMIN)';
    for (const [cmd, arg, pkg] of [['ip', '-V', 'iproute2'], ['iptables', '-V', 'iptables']] as const) {
      try {
        run(cmd, [arg]);
      } catch {
        return `${pkg} (\`${cmd}\`) is not installed`;
      }
    }
    if (!fs.existsSync(DIST)) return 'dist/ is missing (build first)';
    const probe = `${PREFIX}-${process.pid}-probe`;
    try {
      run('ip', ['netns', 'add', probe]);
      // The firewall needs connection tracking (the kernel's nf_conntrack), not just the iptables binary.
      run('ip', ['netns', 'exec', probe, 'iptables', '-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'ESTABLISHED', '-j', 'ACCEPT']);
    } catch (e) {
      return `cannot create a network namespace with an iptables conntrack rule: ${(e as Error).message.split('\n')[0]}`;
    } finally {
      try {
        run('ip', ['netns', 'del', probe]);
      } catch {
        /* was not created */
      }
    }
    return undefined;
  })();
  return skipWhy;
}

/** Deletes namespaces of earlier runs whose process is gone (a SIGKILLed vitest cannot clean up after itself). */
function sweepStale(): void {
  let list = '';
  try {
    list = run('ip', ['netns', 'list']);
  } catch {
    return;
  }
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${PREFIX}-(\\d+)-`).exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = pid === process.pid;
    if (!alive) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch {
        alive = false;
      }
    }
    if (!alive) {
      try {
        run('ip', ['netns', 'del', name]);
      } catch {
        /* raced with another sweeper */
      }
    }
  }
}

export interface Host {
  name: string;
  ns: string;
  segment: number;
  ip: string;
}

export interface FirewallOpts {
  /** UDP destination ports still accepted inbound (e.g. 46123 for LAN discovery broadcasts). */
  allowUdpPorts?: number[];
}

let labCounter = 0;
const liveLabs = new Set<NetLab>();
process.once('exit', () => {
  for (const lab of liveLabs) lab.destroySync();
});

export class NetLab {
  readonly hosts = new Map<string, Host>();
  readonly children: NodeProc[] = [];
  readonly #namespaces: string[] = [];
  readonly #tmpDirs: string[] = [];
  readonly #tag: string;
  #destroyed = false;

  private constructor() {
    this.#tag = `${PREFIX}-${process.pid}-${++labCounter}`;
  }

  /**
   * Builds the lab: `hosts` maps a host name to its segment (0, 1, …). A router joins the segments when there
   * is more than one.
   */
  static create(spec: { hosts: Record<string, number> }): NetLab {
    sweepStale();
    const lab = new NetLab();
    liveLabs.add(lab);
    try {
      lab.#build(spec.hosts);
    } catch (e) {
      lab.destroySync();
      throw e;
    }
    return lab;
  }

  #addNs(name: string): string {
    const ns = `${this.#tag}-${name}`;
    run('ip', ['netns', 'add', ns]);
    this.#namespaces.push(ns);
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  #build(hosts: Record<string, number>): void {
    const segments = [...new Set(Object.values(hosts))].sort((a, b) => a - b);
    for (const s of segments) if (!Number.isInteger(s) || s < 0 || s > 200) throw new Error(`segment ${s} must be 0..200`);
    const routed = segments.length > 1;
    const sw = this.#addNs('sw');
    for (const s of segments) {
      run('ip', ['-n', sw, 'link', 'add', `br${s}`, 'type', 'bridge']);
      run('ip', ['-n', sw, 'link', 'set', `br${s}`, 'up']);
    }
    let port = 0;
    // A veth whose one end is `dev` in `ns` and the other a port of segment s's bridge.
    const plug = (ns: string, dev: string, s: number): void => {
      const swPort = `p${port++}`;
      run('ip', ['-n', ns, 'link', 'add', dev, 'type', 'veth', 'peer', 'name', swPort, 'netns', sw]);
      run('ip', ['-n', sw, 'link', 'set', swPort, 'master', `br${s}`]);
      run('ip', ['-n', sw, 'link', 'set', swPort, 'up']);
      run('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    };
    if (routed) {
      const r = this.#addNs('router');
      for (const s of segments) {
        plug(r, `seg${s}`, s);
        run('ip', ['-n', r, 'addr', 'add', `10.90.${s}.254/24`, 'brd', `10.90.${s}.255`, 'dev', `seg${s}`]);
      }
      run('ip', ['netns', 'exec', r, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    }
    const perSegment = new Map<number, number>();
    for (const [name, s] of Object.entries(hosts)) {
      if (!/^[a-z][a-z0-9]{0,15}$/.test(name)) throw new Error(`host name ${name}: lowercase letters and digits`);
      const k = (perSegment.get(s) ?? 0) + 1;
      perSegment.set(s, k);
      const ns = this.#addNs(name);
      plug(ns, 'eth0', s);
      const ip = `10.90.${s}.${k}`;
      run('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'brd', `10.90.${s}.255`, 'dev', 'eth0']);
      // Also what 255.255.255.255 (LAN discovery) leaves by: the namespace's only interface.
      run('ip', ['-n', ns, 'route', 'add', 'default', ...(routed ? ['via', `10.90.${s}.254`] : []), 'dev', 'eth0']);
      this.hosts.set(name, { name, ns, segment: s, ip });
    }
  }

  host(name: string): Host {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${name} in this lab`);
    return h;
  }

  ip(name: string): string {
    return this.host(name).ip;
  }

  /** Runs a command inside the host's namespace and returns its stdout. */
  exec(name: string, cmd: string, args: string[]): string {
    return run('ip', ['netns', 'exec', this.host(name).ns, cmd, ...args]);
  }

  /**
   * A host firewall that drops every inbound connection attempt (TCP SYN, new UDP flows) while letting replies
   * to the host's own outbound connections in — what a NAT or a default-deny firewall does to a publisher.
   */
  firewall(name: string, opts: FirewallOpts = {}): void {
    const ipt = (...a: string[]): string => this.exec(name, 'iptables', a);
    ipt('-A', 'INPUT', '-i', 'lo', '-j', 'ACCEPT');
    ipt('-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT');
    for (const p of opts.allowUdpPorts ?? []) ipt('-A', 'INPUT', '-p', 'udp', '--dport', String(p), '-j', 'ACCEPT');
    ipt('-A', 'INPUT', '-p', 'tcp', '--syn', '-j', 'DROP');
    ipt('-A', 'INPUT', '-p', 'udp', '-j', 'DROP');
  }

  /** Packets the host's firewall dropped so far (proves the boundary was exercised, not just configured). */
  firewallDrops(name: string): number {
    const out = this.exec(name, 'iptables', ['-L', 'INPUT', '-v', '-n', '-x']);
    let n = 0;
    for (const line of out.split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f[2] === 'DROP') n += Number(f[0]);
    }
    return n;
  }

  /** A TCP connect from `from` to ip:port: 'connected', 'refused' or 'timeout' (after `timeoutMs`). */
  probeTcp(from: string, ip: string, port: number, timeoutMs = 2_000): 'connected' | 'refused' | 'timeout' {
    const js = `const s=require('net').connect(${port},${JSON.stringify(ip)});const t=setTimeout(()=>{console.log('timeout');process.exit(0)},${timeoutMs});
      s.on('connect',()=>{console.log('connected');process.exit(0)});s.on('error',(e)=>{console.log(e.code==='ECONNREFUSED'?'refused':'timeout');process.exit(0)});`;
    return this.exec(from, process.execPath, ['-e', js]).trim() as 'connected' | 'refused' | 'timeout';
  }

  tmpDir(label: string): string {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), `scp2p-${label}-`));
    this.#tmpDirs.push(d);
    return d;
  }

  /** Starts node-child.mjs in the host's namespace (the node itself starts with `proc.start(config)`). */
  spawnNode(name: string, label = name): NodeProc {
    const h = this.host(name);
    const proc = spawn('ip', ['netns', 'exec', h.ns, process.execPath, NODE_CHILD, DIST], { stdio: ['pipe', 'pipe', 'pipe'] });
    const child = new NodeProc(label, h, proc, this.tmpDir(`${label}-data`));
    this.children.push(child);
    return child;
  }

  /** Starts raw-peer-child.mjs (a bare TLS + handshake client on the protocol core) in the host's namespace. */
  spawnRawPeer(name: string, label = `${name}-raw`): RawPeerProc {
    const h = this.host(name);
    const proc = spawn('ip', ['netns', 'exec', h.ns, process.execPath, RAW_PEER_CHILD, PROTOCOL_DIST], { stdio: ['pipe', 'pipe', 'pipe'] });
    const child = new RawPeerProc(label, h, proc, '');
    this.children.push(child);
    return child;
  }

  /** Last log lines of every node process, for failure messages. */
  logs(lines = 15): string {
    return this.children.map((c) => `--- ${c.label} (${c.host.ip}) exit=${c.exitCode ?? '-'}\n${c.log.slice(-lines).join('\n')}`).join('\n');
  }

  /** Stops the node processes (gracefully, then SIGKILL), deletes the namespaces (veths and iptables rules go with them) and the temp dirs. */
  async destroy(): Promise<void> {
    await Promise.all(this.children.map((c) => c.shutdown(8_000)));
    this.destroySync();
  }

  destroySync(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    liveLabs.delete(this);
    for (const c of this.children) c.kill();
    for (const ns of [...this.#namespaces].reverse()) {
      try {
        run('ip', ['netns', 'del', ns]);
      } catch {
        /* already gone */
      }
    }
    for (const d of this.#tmpDirs) fs.rmSync(d, { recursive: true, force: true });
  }
}

export interface CallError {
  code: string;
  message: string;
}

/** An event from the node's `events$` (bigints arrive as decimal strings). */
export type ChildEvent = { type: string } & Record<string, unknown>;

export class NodeError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** One node process: typed-ish calls over JSON lines, its event log and its stderr. */
export class NodeProc {
  readonly events: ChildEvent[] = [];
  readonly log: string[] = [];
  exitCode: number | string | null = null;
  info: { nodeId: string; shareId: string; addresses: string[] } | undefined;
  readonly exited: Promise<void>;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly #ready: Promise<void>;
  #nextId = 1;

  constructor(
    readonly label: string,
    readonly host: Host,
    readonly proc: ChildProcess,
    readonly dataDir: string,
  ) {
    let ready!: () => void;
    this.#ready = new Promise((r) => (ready = r));
    this.exited = new Promise((r) =>
      proc.once('exit', (code, signal) => {
        this.exitCode = code ?? signal;
        for (const p of this.#pending.values()) p.reject(new NodeError('NODE_STOPPED', `${label} exited (${this.exitCode})`));
        this.#pending.clear();
        ready();
        r();
      }),
    );
    readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
      let m: { ready?: boolean; id?: number; result?: unknown; error?: CallError; event?: ChildEvent };
      try {
        m = JSON.parse(line) as typeof m;
      } catch {
        this.#keep(line);
        return;
      }
      if (m.ready) ready();
      if (m.event) this.events.push(m.event);
      if (m.id !== undefined) {
        const p = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        if (m.error) p?.reject(new NodeError(m.error.code, m.error.message));
        else p?.resolve(m.result);
      }
    });
    readline.createInterface({ input: proc.stderr! }).on('line', (line) => this.#keep(line));
    proc.stdin!.on('error', () => {}); // EPIPE after a SIGKILL
  }

  #keep(line: string): void {
    this.log.push(line);
    if (this.log.length > 400) this.log.splice(0, this.log.length - 400);
  }

  /** One request to the child script; resolves with its `result`, rejects with its `error`. */
  async rpc(msg: Record<string, unknown>, timeoutMs: number): Promise<unknown> {
    await this.#ready;
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      if (this.exitCode !== null) return reject(new NodeError('NODE_STOPPED', `${this.label} has exited (${this.exitCode})`));
      const t = setTimeout(() => {
        this.#pending.delete(id);
        reject(new NodeError('TIMEOUT', `${this.label}: ${String(msg.op)} ${String(msg.method ?? '')} took over ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (v) => (clearTimeout(t), resolve(v)),
        reject: (e) => (clearTimeout(t), reject(e)),
      });
      this.proc.stdin!.write(JSON.stringify({ id, ...msg }) + '\n');
    });
  }

  /** Node.start in the child; `dataDir` defaults to a fresh temp dir, `host` to this host's address. */
  async start(config: Record<string, unknown>, timeoutMs = 60_000): Promise<{ nodeId: string; shareId: string; addresses: string[] }> {
    this.info = (await this.rpc({ op: 'start', config: { dataDir: this.dataDir, host: this.host.ip, ...config } }, timeoutMs)) as NonNullable<NodeProc['info']>;
    return this.info;
  }

  /** Calls a public Node method in the child. */
  call<T = unknown>(method: string, args: unknown[] = [], timeoutMs = 60_000): Promise<T> {
    return this.rpc({ op: 'call', method, args }, timeoutMs) as Promise<T>;
  }

  /** The first event (already seen or still to come) matching `pred`. */
  async waitEvent(pred: (e: ChildEvent) => boolean, timeoutMs: number, what = 'event'): Promise<ChildEvent> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const e = this.events.find(pred);
      if (e) return e;
      if (this.exitCode !== null) throw new Error(`${this.label} exited before ${what}`);
      if (Date.now() > end) throw new Error(`${this.label}: no ${what} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGKILL: no goodbye to peers, sockets vanish (a crash or a pulled cable for everyone else). */
  kill(): void {
    if (this.exitCode === null) this.proc.kill('SIGKILL');
  }

  /** Graceful stop (end of stdin), SIGKILL after `graceMs`. */
  async shutdown(graceMs: number): Promise<void> {
    if (this.exitCode !== null) return;
    this.proc.stdin!.end();
    const t = setTimeout(() => this.kill(), graceMs);
    await this.exited;
    clearTimeout(t);
  }
}

/** Polls `probe` until it returns a value other than undefined (or throws the last error after `timeoutMs`). */
export async function eventually<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined, everyMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** One answer seen by a raw peer: the response payload (hex), the error text, or the connection closing. */
export type RawAnswer = { ok: true; type: number; payload: string } | { ok: false; text?: string; closed?: boolean };

/** raw-peer-child.mjs: identities with one TLS connection each, sending exactly the envelopes a test asks for. */
export class RawPeerProc extends NodeProc {
  /** Opens a connection to ip:port as a fresh identity named `as`; returns its public key (hex). */
  async open(as: string, ip: string, port: number): Promise<string> {
    const r = (await this.rpc({ op: 'open', as, host: ip, port }, 30_000)) as { pubkey: string };
    return r.pubkey;
  }

  /** Sends the requests one after another on `as`'s connection; one answer per request. */
  async requests(as: string, reqs: { type: number; payload: Uint8Array }[], timeoutMs = 120_000): Promise<RawAnswer[]> {
    const wire = reqs.map((r) => ({ type: r.type, payload: Buffer.from(r.payload).toString('hex') }));
    return (await this.rpc({ op: 'requests', as, requests: wire }, timeoutMs)) as RawAnswer[];
  }
}
