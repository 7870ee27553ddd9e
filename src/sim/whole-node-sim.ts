/**
 * Whole nodes in one process on virtual time: every node is a real `Node` (all six actors inline: index,
 * fetcher, DHT, session, relay, persistence, with lmdb and hashing threads), its clock the shared `SimClock`,
 * its seed derived from the run's seed, its identity derived from it too, and its session on the in-memory
 * `SimNet` instead of TLS. Only the transport below the SCP2P framing is simulated.
 *
 * Time moves only when the process is quiet: after the timers of one instant fire, the pump waits until no timer
 * was set or cleared, no segment moved, no fs request or hashing task is in flight for several event-loop turns;
 * then it jumps to the next deadline. Real work (lmdb commits, hashing, file writes) therefore takes no virtual
 * time, and the same seed gives the same run, traced event by event (`SimTrace`).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Subscription as RxSubscription } from 'rxjs';
import { createRandom, type Random } from '../actors/runtime/random.js';
import { hashTasksInFlight } from '../hashing/hashing-pool.js';
import { Node } from '../node.js';
import type { NodeConfig } from '../node-config.js';
import type { NodeEvent } from '../messages/node-events.js';
import { lmdbWritesInFlight, openEnvironment, pendingCommits } from '../store/environment.js';
import { IdentityStore, DEFAULT_PUBLISHER } from '../store/identity-store.js';
import { migrate } from '../store/schema.js';
import { SimClock } from './sim-clock.js';
import { SimTrace } from './sim-trace.js';
import { SimNet, type SimNetInit } from './sim-transport.js';

/** 2026-01-01T00:00:00Z: virtual wall time starts here (dates in heads and records look real). */
export const SIM_EPOCH_MS = 1_767_225_600_000;
/**
 * How long the process must show no activity before the pump believes it waits for time: event-loop turns and
 * real milliseconds both. lmdb commits on their own thread are invisible to `getActiveResourcesInfo`; under load
 * they were seen to take more than 50 turns, so a short real-time window covers them too.
 */
const QUIET_TURNS = Number(process.env.SCP2P_SIM_QUIET_TURNS ?? 6);
const QUIET_MS = Number(process.env.SCP2P_SIM_QUIET_MS ?? 3);

export interface WholeNodeSimInit {
  seed: number;
  /** Data directories and files live under it (removed by `dispose`). */
  baseDir: string;
  latencyMs?: SimNetInit['latencyMs'];
  loss?: number;
  bandwidthBytesPerMs?: number;
  /** Keep every trace line (to diff two runs). */
  keepTrace?: boolean;
  /** Node settings every node gets (merged under the simulator's own). */
  nodeConfig?: Partial<NodeConfig>;
}

export interface SimHost {
  readonly index: number;
  readonly ip: string;
  readonly dataDir: string;
  /** The running node, while up. */
  node: Node | undefined;
  /** Its first-start identity (stable across restarts). */
  shareId: string;
  sharePubkey: string;
  nodeId: string;
  addr: string;
  starts: number;
}

const TRACED: ReadonlySet<NodeEvent['type']> = new Set([
  'ActorCrashed',
  'ActorRestarted',
  'ActorFailed',
  'NodeFailed',
  'ManifestUpdated',
  'DownloadCompleted',
  'DownloadFailed',
  'PeerConnected',
  'PeerDisconnected',
  'SubscriptionAdded',
]);

export class WholeNodeSim {
  readonly seed: number;
  readonly clock = new SimClock(SIM_EPOCH_MS);
  readonly trace: SimTrace;
  readonly net: SimNet;
  /** The scenario's own stream (each node has its own, from `seed`). */
  readonly random: Random;
  readonly hosts: SimHost[] = [];
  readonly #init: WholeNodeSimInit;
  readonly #subs = new Map<SimHost, RxSubscription>();
  #pumping = false;
  #frozen = 0;
  #pumpDone: Promise<void> | undefined;
  #failure: Error | undefined;
  /** Event-loop turns spent settling, fires of the clock: the simulator's own cost. */
  readonly stats = { steps: 0, turns: 0 };

  constructor(init: WholeNodeSimInit) {
    this.#init = init;
    this.seed = init.seed >>> 0;
    this.trace = new SimTrace({ keepAll: init.keepTrace === true, origin: SIM_EPOCH_MS });
    this.random = createRandom(`${this.seed}:scenario`);
    this.net = new SimNet({
      seed: this.seed,
      clock: this.clock,
      trace: this.trace,
      ...(init.latencyMs ? { latencyMs: init.latencyMs } : {}),
      ...(init.loss !== undefined ? { loss: init.loss } : {}),
      ...(init.bandwidthBytesPerMs ? { bandwidthBytesPerMs: init.bandwidthBytesPerMs } : {}),
    });
    fs.mkdirSync(init.baseDir, { recursive: true });
  }

  get now(): number {
    return this.clock.now() - SIM_EPOCH_MS;
  }

  note(what: string): void {
    this.trace.record(this.clock.now(), what);
  }

  /** Creates host `index` (ip 10.0.<index>.1) with an identity derived from the seed; not started. */
  addHost(): SimHost {
    const index = this.hosts.length;
    const ip = `10.${(index >> 8) & 255}.${index & 255}.1`;
    const dataDir = path.join(this.#init.baseDir, `node-${index}`);
    fs.mkdirSync(dataDir, { recursive: true });
    const keys = createRandom(`${this.seed}:keys:${index}`);
    const seedBytes = (): Uint8Array => Uint8Array.from({ length: 32 }, () => keys.int(256));
    // The identity is written before the first start, so node ids (and with them the DHT's distances) replay.
    const env = openEnvironment(dataDir);
    try {
      migrate(env);
      const store = new IdentityStore(env, undefined);
      store.importKeys({ node: seedBytes(), publishers: { [DEFAULT_PUBLISHER]: seedBytes() } });
      const id = store.loadOrCreate();
      const host: SimHost = { index, ip, dataDir, node: undefined, shareId: id.shareId, sharePubkey: id.sharePubkey, nodeId: id.nodeId, addr: `tcp://${ip}:7000@${id.nodePubkey}`, starts: 0 };
      this.hosts.push(host);
      return host;
    } finally {
      void env.close();
    }
  }

  /** Starts the host's node (time stands still meanwhile: starting is local work). */
  async start(host: SimHost, bootstrap: string[]): Promise<Node> {
    if (host.node) return host.node;
    this.net.setUp(host.ip);
    const node = await this.frozen(() =>
      Node.start({
        dataDir: host.dataDir,
        actorMode: 'inline',
        clock: this.clock,
        seed: createRandom(`${this.seed}:node:${host.index}:${host.starts}`).int(0x7fff_ffff),
        transport: this.net.transport(host.ip),
        host: host.ip,
        listen: { tcp: 7000, quic: null },
        bootstrap,
        hashThreads: 1,
        logLevel: 'silent',
        // Heartbeats are the busiest timers; on virtual time a hang is impossible anyway (the pump waits).
        supervision: { heartbeatIntervalMs: 5_000, heartbeatTimeoutMs: 60_000 },
        ...this.#init.nodeConfig,
      }),
    );
    host.node = node;
    host.starts++;
    this.note(`start ${host.index} #${host.starts}`);
    this.#subs.set(
      host,
      node.events$.subscribe((e) => {
        if (TRACED.has(e.type)) this.note(`ev ${host.index} ${describe(e, this)}`);
      }),
    );
    return node;
  }

  /** Graceful leave: the node says goodbye on its connections and stops. */
  async stop(host: SimHost): Promise<void> {
    const node = host.node;
    if (!node) return;
    host.node = undefined;
    this.note(`stop ${host.index}`);
    await node.stop();
    this.#subs.get(host)?.unsubscribe();
    this.#subs.delete(host);
  }

  /**
   * kill -9 as its peers see it: the host vanishes from the network at once (their connections are reset, its
   * writes go nowhere); then its actors are ended. Its lmdb holds what it committed; a restart reads that.
   */
  async crash(host: SimHost): Promise<void> {
    const node = host.node;
    if (!node) return;
    host.node = undefined;
    this.note(`crash ${host.index}`);
    this.net.crashHost(host.ip);
    this.#subs.get(host)?.unsubscribe();
    this.#subs.delete(host);
    await node.stop();
  }

  /** Virtual sleep (the pump must be running: call inside `run`). */
  sleep(ms: number): Promise<void> {
    return new Promise((r) => this.clock.setTimeout(r, ms));
  }

  /** Runs `fn` with time frozen (local work that must not let virtual time pass). */
  async frozen<T>(fn: () => Promise<T>): Promise<T> {
    this.#frozen++;
    try {
      return await fn();
    } finally {
      this.#frozen--;
    }
  }

  /**
   * Drives virtual time while `scenario` runs; rejects (with the seed in the message) when the scenario fails or
   * virtual time passes `maxVirtualMs`.
   */
  async run<T>(scenario: () => Promise<T>, maxVirtualMs: number): Promise<T> {
    if (this.#pumping) throw new Error('the simulator is already running');
    this.#pumping = true;
    this.#failure = undefined;
    const limit = this.clock.now() + maxVirtualMs;
    this.#pumpDone = this.#pump(limit);
    try {
      const out = await Promise.race([
        scenario(),
        this.#pumpDone.then(() => {
          throw this.#failure ?? new Error('the simulator stopped');
        }),
      ]);
      return out as T;
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      e.message = `${e.message} [SCP2P_SIM_SEED=${this.seed}, virtual t=${this.now} ms]`;
      throw e;
    } finally {
      this.#pumping = false;
      await this.#pumpDone;
    }
  }

  /** Stops every node and removes the base directory. */
  async dispose(): Promise<void> {
    // Stopping needs time to pass (goodbyes on the simulated links): pump until every node is down.
    const up = this.hosts.filter((h) => h.node);
    if (up.length > 0) {
      await this.run(async () => {
        for (const h of up) await this.crash(h);
      }, 600_000).catch(() => {});
    }
    fs.rmSync(this.#init.baseDir, { recursive: true, force: true });
  }

  async #pump(limit: number): Promise<void> {
    while (this.#pumping) {
      await this.#settle();
      if (!this.#pumping) break;
      if (this.#frozen > 0) continue;
      if (this.clock.now() >= limit) {
        this.#failure = new Error(`virtual time limit reached (${limit - SIM_EPOCH_MS} ms)`);
        break;
      }
      this.stats.steps++;
      this.clock.fireNext(limit);
      if (this.clock.errors.length > 0) {
        this.#failure = this.clock.errors.shift() as Error;
        break;
      }
    }
  }

  async #settle(): Promise<void> {
    let since = performance.now();
    let last = this.#signal();
    // Quiet = QUIET_TURNS event-loop turns with nothing new, lasting QUIET_MS in all, then every lmdb commit in
    // flight done and QUIET_TURNS more turns still with nothing new (a commit's continuation may hop ports).
    const turns = async (): Promise<boolean> => {
      let changed = false;
      for (let quiet = 0; quiet < QUIET_TURNS; ) {
        await new Promise<void>((r) => setImmediate(r));
        this.stats.turns++;
        const s = this.#signal();
        if (s !== last || busy()) {
          quiet = 0;
          changed = true;
          since = performance.now();
          last = s;
        } else quiet++;
      }
      return changed;
    };
    for (;;) {
      await turns();
      if (performance.now() - since < QUIET_MS) {
        await new Promise<void>((r) => setTimeout(r, 1));
        continue;
      }
      await pendingCommits();
      if (!(await turns())) return;
    }
  }

  #signal(): number {
    return this.clock.activity * 1_000_003 + this.net.activity;
  }
}

/** Real work still in flight that the next virtual instant must wait for. */
function busy(): boolean {
  if (hashTasksInFlight() > 0 || lmdbWritesInFlight() > 0) return true;
  for (const r of process.getActiveResourcesInfo()) if (r.startsWith('FSReq') || r === 'CloseReq') return true;
  return false;
}

function describe(e: NodeEvent, sim: WholeNodeSim): string {
  const short = (id: string): string => {
    const h = sim.hosts.find((x) => x.nodeId === id);
    return h ? `n${h.index}` : id.slice(0, 8);
  };
  switch (e.type) {
    case 'PeerConnected':
      return `PeerConnected ${short(e.nodeId)}`;
    case 'PeerDisconnected':
      return `PeerDisconnected ${short(e.nodeId)}`;
    case 'ManifestUpdated':
      return `ManifestUpdated ${e.shareId.slice(0, 8)} seq=${e.seq} ${e.manifestId.slice(0, 8)} items=${e.items} own=${e.own}`;
    case 'DownloadCompleted':
      return `DownloadCompleted ${e.contentId.slice(0, 8)}`;
    case 'DownloadFailed':
      return `DownloadFailed ${e.contentId.slice(0, 8)} ${e.code}`;
    case 'SubscriptionAdded':
      return `SubscriptionAdded ${e.shareId.slice(0, 8)}`;
    case 'ActorCrashed':
      return `ActorCrashed ${e.actor} ${e.reason}`;
    default:
      return e.type;
  }
}

/** SHA-256 hex of a file (download verification against the source bytes). */
export function sha256File(p: string): string {
  return createHash('sha256').update(fs.readFileSync(p)).digest('hex');
}
