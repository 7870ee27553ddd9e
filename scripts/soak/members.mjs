/**
 * Soak members behind one interface: an inline node in this process (its actors in this thread: 50 worker-mode
 * nodes would be 300 threads on 2 cores), or a worker-mode node in a child process (so kill -9 is real).
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Node } from '../../dist/index.js';

const CHILD = fileURLToPath(new URL('./child-node.mjs', import.meta.url));

/** What both kinds of member hold: who they are, where their data lives, whom they bootstrap from. */
class Member {
  addresses = [];
  id = undefined;
  /** `bootstrap`: a function returning the addresses to bootstrap from when the member (re)starts. */
  constructor(name, dataDir, bootstrap, syncIntervalMs, host = '127.0.0.1') {
    this.name = name;
    this.host = host;
    this.dataDir = dataDir;
    this.bootstrap = bootstrap;
    this.syncIntervalMs = syncIntervalMs;
  }
  /** The error a call to a member that is not running fails with (code NODE_STOPPED). */
  down(why = 'is down') {
    return Object.assign(new Error(`${this.name} ${why}`), { code: 'NODE_STOPPED' });
  }
}

export class InlineMember extends Member {
  kind = 'inline';
  node = undefined;
  get up() {
    return this.node !== undefined;
  }
  async start() {
    fs.mkdirSync(this.dataDir, { recursive: true });
    this.node = await Node.start({
      dataDir: this.dataDir,
      actorMode: 'inline',
      host: this.host,
      listen: { tcp: this.port ?? 0, quic: null },
      bootstrap: this.bootstrap(),
      hashThreads: 1,
      logLevel: 'silent',
      syncIntervalMs: this.syncIntervalMs,
    });
    this.addresses = this.node.addresses();
    this.port = portOf(this.addresses);
    this.id = this.node.id;
  }
  async stop() {
    const n = this.node;
    this.node = undefined;
    await n?.stop();
  }
  async call(op, ...args) {
    const n = this.node;
    if (!n) throw this.down();
    switch (op) {
      case 'subscribe':
        return n.subscribe(args[0], { sharePubkey: args[1] });
      case 'sync':
        return n.syncSubscriptions({ timeoutMs: 60_000 });
      case 'listSubscriptions':
        return n.listSubscriptions();
      case 'listShareItems':
        return n.listShareItems(args[0]);
      case 'downloadItems':
        return n.downloadItems(args[0], args[1], args[2], { timeoutMs: args[3] });
      case 'listDownloads':
        return n.listDownloads();
      case 'peers':
        return (await n.peers()).filter((p) => p.connected).length;
      case 'publishFolder':
        return n.publishFolder(args[0], { title: args[1], timeoutMs: 120_000 });
      default:
        throw new Error(`no op ${op}`);
    }
  }
  rss() {
    return 0; // counted in this process's RSS
  }
}

export class ChildMember extends Member {
  kind = 'child';
  child = undefined;
  #pending = new Map();
  #next = 1;
  get up() {
    return this.child !== undefined && this.id !== undefined;
  }
  start(timeoutMs = 60_000) {
    fs.mkdirSync(this.dataDir, { recursive: true });
    const child = fork(CHILD, [JSON.stringify({ dataDir: this.dataDir, bootstrap: this.bootstrap(), syncIntervalMs: this.syncIntervalMs, host: this.host, port: this.port })], {
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child = child;
    let stderr = '';
    child.stderr.on('data', (b) => (stderr = (stderr + b).slice(-2000)));
    child.on('exit', () => {
      if (this.child === child) {
        this.child = undefined;
        this.id = undefined;
      }
      for (const p of this.#pending.values()) p.reject(this.down('exited'));
      this.#pending.clear();
    });
    child.on('message', (m) => {
      if (m.type === 'ready') return;
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
    });
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${this.name} did not start in ${timeoutMs} ms: ${stderr}`)), timeoutMs);
      child.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`${this.name} exited with ${code} while starting: ${stderr}`));
      });
      child.on('message', (m) => {
        if (m.type !== 'ready') return;
        clearTimeout(t);
        this.addresses = m.addresses;
        this.port = portOf(m.addresses);
        this.id = m.id;
        resolve();
      });
    });
  }
  /** kill -9: no goodbye, no flush; lmdb keeps what it committed. */
  kill() {
    const c = this.child;
    this.child = undefined;
    this.id = undefined;
    if (!c) return Promise.resolve();
    return new Promise((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  }
  async stop() {
    const c = this.child;
    if (!c) return;
    await Promise.race([this.call('stop').catch(() => {}), new Promise((r) => setTimeout(r, 15_000))]);
    if (c.exitCode === null) c.kill('SIGKILL');
    this.child = undefined;
    this.id = undefined;
  }
  call(op, ...args) {
    const c = this.child;
    if (!c || !c.connected) return Promise.reject(this.down());
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // The child may die between the check above and this send (EPIPE): that is a stopped node, not a crash.
      c.send({ id, op, args }, (err) => {
        if (!err) return;
        this.#pending.delete(id);
        reject(this.down(`is down (${err.code ?? err.message})`));
      });
    });
  }
  rss() {
    const pid = this.child?.pid;
    if (!pid) return 0;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  }
}

/**
 * The TCP port a member listens on, kept for its restarts: a restarted node comes back where its peers knew it, as
 * one with a configured port does (`scp2p start --port`). Restarting on a fresh port left a newcomer whose only
 * peers had restarted with no address that worked, and so with no peer at all (seen: "0 peers connected").
 */
function portOf(addresses) {
  const a = (addresses ?? []).find((x) => x.startsWith('tcp://'));
  const port = a ? Number(new URL(a.replace(/@[0-9a-f]+$/, '')).port) : NaN;
  return Number.isInteger(port) && port > 0 ? port : undefined;
}
