/**
 * Bandwidth caps and concurrency limits (config `limits`, changed live with `node.setLimits`). The node keeps
 * the effective values and forwards them to the actors that enforce them; an actor that has no `setLimits`
 * message yet is reported as `unsupported`, never silently counted as applied. After an actor restarts the
 * node forwards the current limits to it again, so a restart does not lose them.
 */
import { ScpError } from './errors.js';
import type { ActorName } from './messages/actor-name.js';

export interface NodeLimits {
  /** Whole-node download cap, bytes per second; null = unlimited. */
  maxDownloadBps: number | null;
  /** Whole-node upload (serving chunks) cap, bytes per second; null = unlimited. */
  maxUploadBps: number | null;
  /** Per-peer download cap, bytes per second; null = unlimited. */
  perPeerDownloadBps: number | null;
  /** Per-peer upload cap, bytes per second; null = unlimited. */
  perPeerUploadBps: number | null;
  /** Downloads running at once (others wait as `queued`). */
  maxConcurrentDownloads: number | null;
  /** Chunk requests in flight to one peer. */
  maxRequestsPerPeer: number | null;
  /** Open peer sessions. */
  maxConnections: number | null;
  /** Relay tunnels this node carries for others (relay capability). */
  maxRelayTunnels: number | null;
}

export const LIMIT_KEYS = [
  'maxDownloadBps',
  'maxUploadBps',
  'perPeerDownloadBps',
  'perPeerUploadBps',
  'maxConcurrentDownloads',
  'maxRequestsPerPeer',
  'maxConnections',
  'maxRelayTunnels',
] as const satisfies readonly (keyof NodeLimits)[];

export const UNLIMITED: NodeLimits = Object.fromEntries(LIMIT_KEYS.map((k) => [k, null])) as unknown as NodeLimits;

/** Which actors enforce which limits; setLimits sends each actor the whole record and it takes its part. */
export const LIMIT_ACTORS: readonly ActorName[] = ['session', 'fetcher', 'relay'];

/**
 * The message an enforcing actor adds to its mailbox (src/messages/<actor>-mailbox.ts):
 * `setLimits: LimitsMailboxEntry`. Its reply lists the keys it applied.
 */
export interface LimitsMailboxEntry {
  req: { limits: NodeLimits };
  reply: { applied: (keyof NodeLimits)[] };
}

export interface SetLimitsReport {
  limits: NodeLimits;
  /** Actors that took the new limits, with the keys each applied. */
  applied: Array<{ actor: ActorName; keys: (keyof NodeLimits)[] }>;
  /** Actors that do not enforce limits yet (no `setLimits` message). */
  unsupported: ActorName[];
  /** Actors that could not be reached (not running, crashed) or refused the values. */
  failed: Array<{ actor: ActorName; code: string; error: string }>;
}

/** Validates a partial update and merges it: integers >= 0 (bigint or number), or null for "no limit". */
export function mergeLimits(current: NodeLimits, patch: unknown): NodeLimits {
  if (patch === undefined || patch === null) return current;
  if (typeof patch !== 'object' || Array.isArray(patch)) throw ScpError.badInput('limits must be an object such as { maxDownloadBps: 1048576 }');
  const out: NodeLimits = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (!(LIMIT_KEYS as readonly string[]).includes(k)) {
      throw ScpError.badInput(`unknown limit "${k}"; known limits: ${LIMIT_KEYS.join(', ')}`);
    }
    const key = k as keyof NodeLimits;
    if (v === null || v === undefined) {
      out[key] = null;
      continue;
    }
    const n = typeof v === 'bigint' ? Number(v) : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      throw ScpError.badInput(`limit "${k}" must be a whole number >= 0, or null for no limit`);
    }
    out[key] = n;
  }
  return out;
}

export type LimitsRequest = (actor: ActorName, limits: NodeLimits) => Promise<{ applied?: (keyof NodeLimits)[] } | undefined | void>;

/** Sends the limits to every enforcing actor in parallel and sorts the answers. */
export async function forwardLimits(limits: NodeLimits, send: LimitsRequest, actors: readonly ActorName[] = LIMIT_ACTORS): Promise<SetLimitsReport> {
  const report: SetLimitsReport = { limits, applied: [], unsupported: [], failed: [] };
  await Promise.all(
    actors.map(async (actor) => {
      try {
        const reply = await send(actor, limits);
        report.applied.push({ actor, keys: reply?.applied ?? [] });
      } catch (err) {
        const e = err as { code?: string; message?: string };
        if (e.code === 'BAD_INPUT' && /has no message "setLimits"/.test(e.message ?? '')) report.unsupported.push(actor);
        else report.failed.push({ actor, code: e.code ?? 'INTERNAL', error: e.message ?? String(err) });
      }
    }),
  );
  const order = (a: ActorName, b: ActorName) => actors.indexOf(a) - actors.indexOf(b);
  report.applied.sort((a, b) => order(a.actor, b.actor));
  report.unsupported.sort(order);
  report.failed.sort((a, b) => order(a.actor, b.actor));
  return report;
}
