/**
 * Relay slots (PROTOCOL.md §9.1), the relay role's bookkeeping: a slot is a random non-zero u64 owned by the
 * identity that registered it ("pubkey:<hex>"), valid for 600 s after its last (re)registration. RELAY_CONNECT
 * records who asked to reach the slot. Expired slots are evicted on every operation, as the reference does.
 *
 * Pure: `now` is unix milliseconds (wall time: slot expiries go on the wire as unix seconds), randomness is the
 * injected `Random`. Slot ids are bigint because they span the full 64-bit range.
 */
import type { Random } from '../runtime/random.js';
import { ErrorText } from '../../protocol/registry.js';

export const RELAY_SLOT_TTL_SECS = 600;
export const RELAY_DEFAULT_MAX_SLOTS = 64;
/** Our text when the table is full (the reference has no slot cap, so it has no text for this). */
export const RELAY_SLOTS_FULL_TEXT = 'relay slot limit reached';

export interface RelaySlot {
  readonly id: bigint;
  /** Requester identity that registered the slot: "pubkey:<hex>" (or the address key without a pubkey). */
  readonly owner: string;
  /** Unix seconds, what RELAY_REGISTERED carries. */
  expiresAt: bigint;
  /** Identities that sent RELAY_CONNECT for this slot (bounded; the newest is `requester`). */
  readonly connected: Set<string>;
  /** The last RELAY_CONNECT requester, or null. */
  requester: string | null;
}

export type SlotResult =
  | { ok: true; slot: RelaySlot; created: boolean }
  | { ok: false; code: 'not-found' | 'owner-mismatch' | 'full'; wireText: string };

export interface SlotTableComponents {
  random: Random;
}

export interface SlotTableInit {
  slotTtlSecs?: number;
  maxSlots?: number;
  /**
   * Live slots one identity may hold (default 8: room for re-registrations while old slots expire); without it one client
   * could take every slot and lock out other publishers.
   */
  maxSlotsPerOwner?: number;
  /** How many RELAY_CONNECT requesters a slot remembers (oldest forgotten first). */
  maxConnectedPerSlot?: number;
  /** Ids that must not be handed out even if no slot holds them (e.g. live tunnels that outlived their slot). */
  isIdReserved?: (id: bigint) => boolean;
}

const NOT_FOUND = { ok: false, code: 'not-found', wireText: ErrorText.RELAY_SLOT_NOT_FOUND } as const;
const MISMATCH = { ok: false, code: 'owner-mismatch', wireText: ErrorText.RELAY_SLOT_OWNER_MISMATCH } as const;
const FULL = { ok: false, code: 'full', wireText: RELAY_SLOTS_FULL_TEXT } as const;

/** Live slots one identity may hold at once (see SlotTableInit.maxSlotsPerOwner). */
export const RELAY_DEFAULT_MAX_SLOTS_PER_OWNER = 8;

export const unixSecs = (nowMs: number): bigint => BigInt(Math.floor(nowMs / 1000));

export class SlotTable {
  readonly #random: Random;
  readonly #ttl: bigint;
  readonly #maxSlots: number;
  readonly #maxPerOwner: number;
  readonly #maxConnected: number;
  readonly #reserved: (id: bigint) => boolean;
  readonly #slots = new Map<bigint, RelaySlot>();

  constructor(components: SlotTableComponents, init: SlotTableInit = {}) {
    this.#random = components.random;
    this.#ttl = BigInt(init.slotTtlSecs ?? RELAY_SLOT_TTL_SECS);
    this.#maxSlots = init.maxSlots ?? RELAY_DEFAULT_MAX_SLOTS;
    this.#maxPerOwner = init.maxSlotsPerOwner ?? RELAY_DEFAULT_MAX_SLOTS_PER_OWNER;
    this.#maxConnected = init.maxConnectedPerSlot ?? 16;
    this.#reserved = init.isIdReserved ?? (() => false);
  }

  get size(): number {
    return this.#slots.size;
  }

  /**
   * RELAY_REGISTER: `slotId` null allocates a new slot for `owner`; an id renews it (owner only). Renewal
   * resets the expiry to now + TTL.
   */
  register(owner: string, slotId: bigint | null, now: number): SlotResult {
    this.evictExpired(now);
    const expiresAt = unixSecs(now) + this.#ttl;
    if (slotId !== null) {
      const slot = this.#slots.get(slotId);
      if (!slot) return NOT_FOUND;
      if (slot.owner !== owner) return MISMATCH;
      slot.expiresAt = expiresAt;
      return { ok: true, slot, created: false };
    }
    if (this.#slots.size >= this.#maxSlots) return FULL;
    let mine = 0;
    for (const sl of this.#slots.values()) if (sl.owner === owner && sl.expiresAt > unixSecs(now)) mine++;
    if (mine >= this.#maxPerOwner) return FULL;
    const slot: RelaySlot = { id: this.#freshId(), owner, expiresAt, connected: new Set(), requester: null };
    this.#slots.set(slot.id, slot);
    return { ok: true, slot, created: true };
  }

  /** RELAY_CONNECT: records `requester` on a live slot. */
  connect(requester: string, slotId: bigint, now: number): SlotResult {
    this.evictExpired(now);
    const slot = this.#slots.get(slotId);
    if (!slot) return NOT_FOUND;
    slot.connected.delete(requester);
    slot.connected.add(requester);
    while (slot.connected.size > this.#maxConnected) slot.connected.delete(slot.connected.values().next().value!);
    slot.requester = requester;
    return { ok: true, slot, created: false };
  }

  /** A live slot, or undefined (evicts first). */
  get(slotId: bigint, now: number): RelaySlot | undefined {
    this.evictExpired(now);
    return this.#slots.get(slotId);
  }

  /** Whether `identity` may send on the slot: its owner or a requester that connected to it. */
  maySend(slot: RelaySlot, identity: string): boolean {
    return slot.owner === identity || slot.connected.has(identity);
  }

  remove(slotId: bigint): boolean {
    return this.#slots.delete(slotId);
  }

  /** Drops slots with now ≥ expires_at; returns their ids. */
  evictExpired(now: number): bigint[] {
    const t = unixSecs(now);
    const gone: bigint[] = [];
    for (const [id, s] of this.#slots) {
      if (t >= s.expiresAt) {
        this.#slots.delete(id);
        gone.push(id);
      }
    }
    return gone;
  }

  /** Owners that hold at least one live slot (quota records of everyone else are dropped). */
  liveOwners(now: number): Set<string> {
    this.evictExpired(now);
    return new Set([...this.#slots.values()].map((s) => s.owner));
  }

  /** Unix ms of the earliest expiry, for the relay core's nextDeadline(). */
  nextExpiryMs(): number | undefined {
    let min: bigint | undefined;
    for (const s of this.#slots.values()) if (min === undefined || s.expiresAt < min) min = s.expiresAt;
    return min === undefined ? undefined : Number(min) * 1000;
  }

  slots(): IterableIterator<RelaySlot> {
    return this.#slots.values();
  }

  #freshId(): bigint {
    for (;;) {
      const id = randomU64(this.#random);
      if (id !== 0n && !this.#slots.has(id) && !this.#reserved(id)) return id;
    }
  }
}

/** A uniform u64 from four 16-bit draws of the injected generator. */
export function randomU64(random: Random): bigint {
  let v = 0n;
  for (let i = 0; i < 4; i++) v = (v << 16n) | BigInt(random.int(0x1_0000));
  return v;
}
