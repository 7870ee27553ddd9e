/**
 * The relay actor's configuration, read from what Node.start passes (API.md "Relays"): `relayService` (the
 * relay role's limits and announcement timing), `relayClient` (firewalled-side timing), `relays`, `firewalled`
 * and whether the node listens. Wrong values are BAD_INPUT with the option's name; absent ones take defaults.
 */
import { ScpError } from '../../errors.js';
import { RELAY_ANNOUNCEMENT_MAX_TTL_SECS } from '../../protocol/limits.js';
import { DEFAULT_DAILY_QUOTAS } from './quotas.js';
import { RELAY_ANNOUNCE_INTERVAL_SECS } from './relay-directory.js';
import { RELAY_DEFAULT_MAX_SLOTS, RELAY_DEFAULT_MAX_SLOTS_PER_OWNER, RELAY_SLOT_TTL_SECS } from './slot-table.js';
import { RELAY_DEFAULT_MAX_TUNNELS, TUNNEL_QUEUE_DEPTH, TUNNEL_TIMEOUT_MS } from './tunnel-core.js';
import { RELAY_DIAL_TIMEOUT_MS, RELAY_REGISTER_TIMEOUT_MS, TUNNEL_RECHECK_MS } from './firewalled-client.js';

/** `Node.start({ relayService })`: the relay role (on with capabilities.relay). */
export interface RelayServiceConfig {
  maxSlots: number;
  /** Live slots one identity may hold (one client must not take them all). */
  maxSlotsPerOwner: number;
  maxTunnels: number;
  slotTtlSecs: number;
  /** Bytes/s through one tunnel; null = no cap. */
  maxTunnelBps: number | null;
  /** Bytes/s through all tunnels together; null = no cap. */
  maxGlobalBps: number | null;
  tunnelQueueDepth: number;
  tunnelTimeoutMs: number;
  dailyControlBytesPerPeer: number;
  dailyContentBytesPerPeer: number;
  dailyStreamsPerPeer: number;
  contentWithoutTunnel: boolean;
  announceIntervalMs: number;
  announceTtlSecs: number;
  /** Addresses to announce ("tcp://ip:port"); null = our listen addresses. */
  announceAddrs: string[] | null;
}

/** `Node.start({ relayClient })`: the firewalled side's timing. */
export interface RelayClientConfig {
  recheckMs: number;
  registerTimeoutMs: number;
  dialTimeoutMs: number;
  discoveryIntervalMs: number;
  reachabilityCheck: boolean;
}

export const DEFAULT_RELAY_SERVICE: Readonly<RelayServiceConfig> = Object.freeze({
  maxSlots: RELAY_DEFAULT_MAX_SLOTS,
  maxSlotsPerOwner: RELAY_DEFAULT_MAX_SLOTS_PER_OWNER,
  maxTunnels: RELAY_DEFAULT_MAX_TUNNELS,
  slotTtlSecs: RELAY_SLOT_TTL_SECS,
  maxTunnelBps: null,
  maxGlobalBps: null,
  tunnelQueueDepth: TUNNEL_QUEUE_DEPTH,
  tunnelTimeoutMs: TUNNEL_TIMEOUT_MS,
  dailyControlBytesPerPeer: DEFAULT_DAILY_QUOTAS.controlBytesPerDay,
  dailyContentBytesPerPeer: DEFAULT_DAILY_QUOTAS.contentBytesPerDay,
  dailyStreamsPerPeer: DEFAULT_DAILY_QUOTAS.streamsPerDay,
  contentWithoutTunnel: DEFAULT_DAILY_QUOTAS.contentEnabled,
  announceIntervalMs: RELAY_ANNOUNCE_INTERVAL_SECS * 1000,
  announceTtlSecs: RELAY_ANNOUNCEMENT_MAX_TTL_SECS,
  announceAddrs: null,
});

export const DEFAULT_RELAY_CLIENT: Readonly<RelayClientConfig> = Object.freeze({
  recheckMs: TUNNEL_RECHECK_MS,
  registerTimeoutMs: RELAY_REGISTER_TIMEOUT_MS,
  dialTimeoutMs: RELAY_DIAL_TIMEOUT_MS,
  discoveryIntervalMs: 60_000,
  reachabilityCheck: true,
});

/** Test-speed floors: below these a relay would flood the DHT or spin. */
const MIN_ANNOUNCE_INTERVAL_MS = 1_000;
const MIN_CLIENT_INTERVAL_MS = 100;

export interface RelayActorConfig {
  enabled: boolean;
  service: RelayServiceConfig;
  client: RelayClientConfig;
  /** Configured relays, "tcp://ip:port[@hex]". */
  relays: string[];
  firewalled: boolean;
  /** Whether the node has a listener (no listener = firewalled). */
  listening: boolean;
}

export function readRelayActorConfig(cfg: Record<string, unknown>): RelayActorConfig {
  const svc = record(cfg.relayService, 'relayService');
  const cli = record(cfg.relayClient, 'relayClient');
  const d = DEFAULT_RELAY_SERVICE;
  const c = DEFAULT_RELAY_CLIENT;
  const service: RelayServiceConfig = {
    maxSlots: int(svc, 'maxSlots', d.maxSlots, 0),
    maxSlotsPerOwner: int(svc, 'maxSlotsPerOwner', d.maxSlotsPerOwner, 1),
    maxTunnels: int(svc, 'maxTunnels', typeof cfg.maxTunnels === 'number' ? cfg.maxTunnels : d.maxTunnels, 0),
    slotTtlSecs: int(svc, 'slotTtlSecs', d.slotTtlSecs, 1),
    maxTunnelBps: nullableInt(svc, 'maxTunnelBps'),
    maxGlobalBps: nullableInt(svc, 'maxGlobalBps'),
    tunnelQueueDepth: int(svc, 'tunnelQueueDepth', d.tunnelQueueDepth, 1),
    tunnelTimeoutMs: int(svc, 'tunnelTimeoutMs', d.tunnelTimeoutMs, 1),
    dailyControlBytesPerPeer: int(svc, 'dailyControlBytesPerPeer', d.dailyControlBytesPerPeer, 0),
    dailyContentBytesPerPeer: int(svc, 'dailyContentBytesPerPeer', d.dailyContentBytesPerPeer, 0),
    dailyStreamsPerPeer: int(svc, 'dailyStreamsPerPeer', d.dailyStreamsPerPeer, 0),
    contentWithoutTunnel: bool(svc, 'contentWithoutTunnel', d.contentWithoutTunnel),
    announceIntervalMs: Math.max(MIN_ANNOUNCE_INTERVAL_MS, int(svc, 'announceIntervalMs', d.announceIntervalMs, 1)),
    announceTtlSecs: Math.min(RELAY_ANNOUNCEMENT_MAX_TTL_SECS, int(svc, 'announceTtlSecs', d.announceTtlSecs, 1)),
    announceAddrs: strings(svc, 'announceAddrs'),
  };
  const client: RelayClientConfig = {
    recheckMs: Math.max(MIN_CLIENT_INTERVAL_MS, int(cli, 'recheckMs', c.recheckMs, 1)),
    registerTimeoutMs: int(cli, 'registerTimeoutMs', c.registerTimeoutMs, 1),
    dialTimeoutMs: int(cli, 'dialTimeoutMs', c.dialTimeoutMs, 1),
    discoveryIntervalMs: Math.max(MIN_CLIENT_INTERVAL_MS, int(cli, 'discoveryIntervalMs', c.discoveryIntervalMs, 1)),
    reachabilityCheck: bool(cli, 'reachabilityCheck', c.reachabilityCheck),
  };
  const relays = Array.isArray(cfg.relays) ? cfg.relays.filter((s): s is string => typeof s === 'string') : [];
  return { enabled: cfg.enabled === true, service, client, relays, firewalled: cfg.firewalled === true, listening: cfg.listening !== false };
}

function record(v: unknown, name: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw ScpError.badInput(`${name} must be an object`);
  return v as Record<string, unknown>;
}

function int(o: Record<string, unknown>, k: string, dflt: number, min: number): number {
  const v = o[k];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw ScpError.badInput(`${k} must be a whole number ≥ ${min}, got ${String(v)}`);
  return v;
}

function nullableInt(o: Record<string, unknown>, k: string): number | null {
  const v = o[k];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw ScpError.badInput(`${k} must be a whole number > 0 or null, got ${String(v)}`);
  return v;
}

function bool(o: Record<string, unknown>, k: string, dflt: boolean): boolean {
  const v = o[k];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw ScpError.badInput(`${k} must be true or false`);
  return v;
}

function strings(o: Record<string, unknown>, k: string): string[] | null {
  const v = o[k];
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw ScpError.badInput(`${k} must be a list of addresses`);
  return v as string[];
}
