/**
 * Adaptive gating of RELAY_STREAM without a tunnel (PROTOCOL.md §9.2): each requester has a relay score that
 * starts at 0 and is clamped to ±10. Content needs score ≥ 2; the payload cap is 512 KiB at ≥ 5, 128 KiB at
 * ≥ 0 and 32 KiB below 0. A rejected request costs −1; a relayed one earns +1.
 */
import type { RelayPayloadKind } from '../../protocol/relay-messages.js';

export const SCORE_MIN = -10;
export const SCORE_MAX = 10;
export const CONTENT_MIN_SCORE = 2;
export const KIB = 1024;

export const GateText = {
  CONTENT_SCORE: 'relay content requires a higher relay score',
  PAYLOAD_TOO_LARGE: 'relay payload exceeds adaptive limit',
} as const;

export type GateResult = { ok: true } | { ok: false; code: 'content-score' | 'payload-too-large'; wireText: string };

/** The payload cap for a score. */
export function payloadCapFor(score: number): number {
  if (score >= 5) return 512 * KIB;
  if (score >= 0) return 128 * KIB;
  return 32 * KIB;
}

export interface RelayGateInit {
  /** Scores remembered at most (oldest touched forgotten first; a forgotten requester restarts at 0). */
  maxTracked?: number;
}

export class RelayGate {
  readonly #scores = new Map<string, number>();
  readonly #max: number;

  constructor(init: RelayGateInit = {}) {
    this.#max = init.maxTracked ?? 4_096;
  }

  score(requester: string): number {
    return this.#scores.get(requester) ?? 0;
  }

  /** The gate alone; on rejection the requester loses a point. */
  check(requester: string, kind: RelayPayloadKind, payloadBytes: number): GateResult {
    const s = this.score(requester);
    if (kind === 'content' && s < CONTENT_MIN_SCORE) {
      this.adjust(requester, -1);
      return { ok: false, code: 'content-score', wireText: GateText.CONTENT_SCORE };
    }
    if (payloadBytes > payloadCapFor(s)) {
      this.adjust(requester, -1);
      return { ok: false, code: 'payload-too-large', wireText: GateText.PAYLOAD_TOO_LARGE };
    }
    return { ok: true };
  }

  /** +1 after a relayed stream. */
  reward(requester: string): void {
    this.adjust(requester, +1);
  }

  adjust(requester: string, delta: number): number {
    const next = Math.max(SCORE_MIN, Math.min(SCORE_MAX, this.score(requester) + delta));
    this.#scores.delete(requester);
    this.#scores.set(requester, next);
    while (this.#scores.size > this.#max) this.#scores.delete(this.#scores.keys().next().value!);
    return next;
  }

  get tracked(): number {
    return this.#scores.size;
  }
}
