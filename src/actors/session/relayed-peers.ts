/**
 * Downloader side of relaying (PROTOCOL.md §9.3 step 4): peers we reach only through a relay have no session
 * of their own, so "connected" means "answered through the relay recently". This table keeps, per far
 * identity, the relay_via address last used and when it last answered; `peers()` shows such a peer as
 * connected and `relayed`, PeerConnected { relayed: true } fires when it first answers, and PeerDisconnected
 * once it has been silent for `idleMs`. Pure: `now` is unix milliseconds.
 */
export const RELAYED_PEER_IDLE_MS = 120_000;

export interface RelayedPeer {
  pubkeyHex: string;
  /** The relay_via address as addrUrl writes it ("relay:tcp://ip:port/slot/<id>"). */
  addr: string;
  lastAnswer: number;
}

export class RelayedPeers {
  readonly #byKey = new Map<string, RelayedPeer>();
  readonly #idleMs: number;
  readonly #max: number;

  constructor(init: { idleMs?: number; maxPeers?: number } = {}) {
    this.#idleMs = init.idleMs ?? RELAYED_PEER_IDLE_MS;
    this.#max = init.maxPeers ?? 1_024;
  }

  /** Records an answer; true when the peer was not counted as reached before (emit PeerConnected). */
  answered(pubkeyHex: string, addr: string, now: number): boolean {
    const old = this.#byKey.get(pubkeyHex);
    this.#byKey.delete(pubkeyHex);
    this.#byKey.set(pubkeyHex, { pubkeyHex, addr, lastAnswer: now });
    while (this.#byKey.size > this.#max) this.#byKey.delete(this.#byKey.keys().next().value!);
    return old === undefined;
  }

  get(pubkeyHex: string): RelayedPeer | undefined {
    return this.#byKey.get(pubkeyHex);
  }

  all(): RelayedPeer[] {
    return [...this.#byKey.values()];
  }

  /** Forgets peers silent for idleMs and returns them (emit PeerDisconnected). */
  expire(now: number): RelayedPeer[] {
    const gone: RelayedPeer[] = [];
    for (const [k, p] of this.#byKey) {
      if (now - p.lastAnswer >= this.#idleMs) {
        this.#byKey.delete(k);
        gone.push(p);
      }
    }
    return gone;
  }
}
