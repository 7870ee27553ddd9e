/**
 * Kademlia routing table (PROTOCOL.md §5.6): 160 buckets over 20-byte NodeIds, K entries each, bucket index =
 * leading zero bits of local XOR id (bucket 0 = the far half of the space). Entries are kept least-recently-seen
 * first. Pure data structure: no clock (now is an argument), no I/O. Ping-before-evict is a two-step protocol:
 * `observe` answers `{ kind: 'ping', lru }` when a bucket is full, the caller probes `lru`, then calls
 * `pingResult(lru.key, alive, now)`. Newcomers wait in a per-bucket replacement cache meanwhile.
 */
import { ID_BITS, commonPrefixBits, compareDistance } from './node-distance.js';
import { subnetKey } from './subnet.js';
import type { Contact, Millis, NodeId } from './types.js';

export const K = 20;
export const MAX_PER_SUBNET = 2;
/** Consecutive failed queries after which an entry is dropped (and backfilled from the replacement cache). */
export const MAX_FAILURES = 2;

export interface RoutingEntry {
  contact: Contact;
  lastSeen: Millis;
  failures: number;
  subnet: string | null;
}

export type ObserveResult =
  | { kind: 'self' }
  | { kind: 'added' }
  | { kind: 'refreshed' }
  | { kind: 'subnet-full' }
  /** Bucket full: ping `lru`, then report with pingResult. The newcomer waits in the replacement cache. */
  | { kind: 'ping'; lru: Contact }
  /** Bucket full and a ping is already out for it: the newcomer waits in the replacement cache. */
  | { kind: 'pending' };

export interface RoutingTableComponents {
  localId: NodeId;
}

export interface RoutingTableInit {
  k?: number;
  maxPerSubnet?: number;
  maxFailures?: number;
}

interface Bucket {
  entries: RoutingEntry[];
  replacements: Contact[];
  pinging: string | undefined;
  /** Last time a lookup aimed into this bucket or an entry was added (for refresh). */
  touched: Millis;
}

export class RoutingTable {
  readonly localId: NodeId;
  readonly k: number;
  private readonly maxPerSubnet: number;
  private readonly maxFailures: number;
  private readonly buckets: Bucket[] = [];
  private readonly index = new Map<string, number>();

  constructor(components: RoutingTableComponents, init: RoutingTableInit = {}) {
    this.localId = components.localId;
    this.k = init.k ?? K;
    this.maxPerSubnet = init.maxPerSubnet ?? MAX_PER_SUBNET;
    this.maxFailures = init.maxFailures ?? MAX_FAILURES;
    for (let i = 0; i < ID_BITS; i++) this.buckets.push({ entries: [], replacements: [], pinging: undefined, touched: 0 });
  }

  get size(): number {
    return this.index.size;
  }

  bucketIndexOf(id: NodeId): number {
    return commonPrefixBits(this.localId, id);
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  get(key: string): RoutingEntry | undefined {
    const b = this.index.get(key);
    return b === undefined ? undefined : this.buckets[b]!.entries.find((e) => e.contact.key === key);
  }

  /** Learn or refresh a contact seen alive at `now`. */
  observe(contact: Contact, now: Millis): ObserveResult {
    const bi = this.bucketIndexOf(contact.id);
    if (bi >= ID_BITS) return { kind: 'self' };
    const bucket = this.buckets[bi]!;
    const at = bucket.entries.findIndex((e) => e.contact.key === contact.key);
    if (at >= 0) {
      const e = bucket.entries[at]!;
      const subnet = subnetKey(contact.addr.ip);
      // Refresh in place; take a new address only if it does not break the subnet limit.
      if (subnet === e.subnet || this.subnetRoom(bucket, subnet, e)) {
        e.contact = contact;
        e.subnet = subnet;
      }
      e.lastSeen = now;
      e.failures = 0;
      bucket.entries.splice(at, 1);
      bucket.entries.push(e);
      return { kind: 'refreshed' };
    }
    const subnet = subnetKey(contact.addr.ip);
    if (!this.subnetRoom(bucket, subnet)) return { kind: 'subnet-full' };
    if (bucket.entries.length < this.k) {
      this.insert(bi, contact, subnet, now);
      return { kind: 'added' };
    }
    this.addReplacement(bucket, contact);
    if (bucket.pinging !== undefined) return { kind: 'pending' };
    const lru = bucket.entries[0]!;
    bucket.pinging = lru.contact.key;
    return { kind: 'ping', lru: lru.contact };
  }

  /** Outcome of the liveness probe asked for by `observe`. */
  pingResult(key: string, alive: boolean, now: Millis): void {
    const bi = this.index.get(key);
    if (bi === undefined) return;
    const bucket = this.buckets[bi]!;
    if (bucket.pinging === key) bucket.pinging = undefined;
    if (alive) {
      const e = this.get(key)!;
      e.lastSeen = now;
      e.failures = 0;
      bucket.entries.splice(bucket.entries.indexOf(e), 1);
      bucket.entries.push(e);
    } else {
      this.remove(key, now);
    }
  }

  /** A query to this contact failed (timeout, error); drop it after `maxFailures` in a row. */
  recordFailure(key: string, now: Millis): void {
    const e = this.get(key);
    if (!e) return;
    e.failures++;
    if (e.failures >= this.maxFailures) this.remove(key, now);
  }

  /** Removes a contact, backfilling its bucket from the replacement cache (newest first). */
  remove(key: string, now: Millis): boolean {
    const bi = this.index.get(key);
    if (bi === undefined) return false;
    const bucket = this.buckets[bi]!;
    const at = bucket.entries.findIndex((e) => e.contact.key === key);
    bucket.entries.splice(at, 1);
    this.index.delete(key);
    if (bucket.pinging === key) bucket.pinging = undefined;
    while (bucket.replacements.length > 0 && bucket.entries.length < this.k) {
      const c = bucket.replacements.pop()!;
      const subnet = subnetKey(c.addr.ip);
      if (!this.index.has(c.key) && this.subnetRoom(bucket, subnet)) this.insert(bi, c, subnet, now);
    }
    return true;
  }

  /** Up to `k` contacts closest to `target`, closest first. Walks buckets outward from the target's bucket. */
  closest(target: NodeId, k: number = this.k, exclude?: (key: string) => boolean): Contact[] {
    const b = this.bucketIndexOf(target);
    const out: Contact[] = [];
    const pool: Contact[] = [];
    const take = (): void => {
      if (pool.length > 1) pool.sort((x, y) => compareDistance(x.id, y.id, target));
      for (let i = 0; i < pool.length && out.length < k; i++) out.push(pool[i]!);
      pool.length = 0;
    };
    const gather = (i: number): void => {
      for (const e of this.buckets[i]!.entries) if (!exclude || !exclude(e.contact.key)) pool.push(e.contact);
    };
    // Bucket b shares more prefix with the target than anything else; buckets deeper than b are all at
    // prefix length b (sorted together); shallower buckets i < b are at prefix length i, strictly farther.
    if (b < ID_BITS) {
      gather(b);
      take();
    }
    if (out.length < k) {
      for (let i = b + 1; i < ID_BITS; i++) gather(i);
      take();
    }
    for (let i = Math.min(b, ID_BITS) - 1; i >= 0 && out.length < k; i--) {
      gather(i);
      take();
    }
    return out;
  }

  /** Marks the bucket a lookup aims into as fresh. */
  touch(target: NodeId, now: Millis): void {
    const b = this.bucketIndexOf(target);
    if (b < ID_BITS) this.buckets[b]!.touched = now;
  }

  /**
   * Buckets due for refresh: not touched for `interval`, up to one past the deepest non-empty bucket (buckets
   * deeper than that cover a space with no known nodes yet, one probe into it is enough).
   */
  bucketsDue(now: Millis, interval: Millis): number[] {
    let deepest = -1;
    for (let i = ID_BITS - 1; i >= 0; i--) if (this.buckets[i]!.entries.length > 0) { deepest = i; break; }
    const out: number[] = [];
    for (let i = 0; i <= Math.min(deepest + 1, ID_BITS - 1); i++) if (now - this.buckets[i]!.touched >= interval) out.push(i);
    return out;
  }

  /** Earliest time any bucket in the refresh range becomes due. */
  nextRefreshAt(interval: Millis): Millis | undefined {
    let deepest = -1;
    for (let i = ID_BITS - 1; i >= 0; i--) if (this.buckets[i]!.entries.length > 0) { deepest = i; break; }
    if (deepest < 0) return undefined;
    let min = Infinity;
    for (let i = 0; i <= Math.min(deepest + 1, ID_BITS - 1); i++) min = Math.min(min, this.buckets[i]!.touched + interval);
    return min;
  }

  entries(): RoutingEntry[] {
    return this.buckets.flatMap((b) => b.entries);
  }

  bucketEntries(i: number): readonly RoutingEntry[] {
    return this.buckets[i]?.entries ?? [];
  }

  private insert(bi: number, contact: Contact, subnet: string | null, now: Millis): void {
    const bucket = this.buckets[bi]!;
    bucket.entries.push({ contact, lastSeen: now, failures: 0, subnet });
    bucket.touched = Math.max(bucket.touched, now);
    this.index.set(contact.key, bi);
  }

  private addReplacement(bucket: Bucket, contact: Contact): void {
    const at = bucket.replacements.findIndex((c) => c.key === contact.key);
    if (at >= 0) bucket.replacements.splice(at, 1);
    bucket.replacements.push(contact);
    if (bucket.replacements.length > this.k) bucket.replacements.shift();
  }

  private subnetRoom(bucket: Bucket, subnet: string | null, except?: RoutingEntry): boolean {
    if (subnet === null) return true;
    let n = 0;
    for (const e of bucket.entries) if (e !== except && e.subnet === subnet) n++;
    return n < this.maxPerSubnet;
  }
}
