/** Package entry: the embedding API (API.md §1). */
export { Node, type NodeHealth, type NodeState } from './node.js';
export type { NodeConfig, CallOpts, Capabilities, FetchTuning } from './node-config.js';
export { ScpError, ProtocolError, type ScpErrorCode } from './errors.js';
export type { NodeEvent, CrashReason } from './messages/node-events.js';
export type { ActorName, CrashMode } from './messages/actor-name.js';
export type { Subscription, Trust } from './messages/index-mailbox.js';
export type { PeerRecord } from './messages/session-mailbox.js';
export type { RelayStatus, RelayCandidateSource } from './messages/relay-mailbox.js';
export type { RelayServiceConfig, RelayClientConfig } from './actors/relay/relay-config.js';
export type { ActorHealth, SupervisionLimits } from './supervisor.js';
export type { LifecycleState } from './actors/runtime/lifecycle-machine.js';
export { ManualClock, systemClock, type Clock } from './actors/runtime/clock.js';
export { createRandom, type Random } from './actors/runtime/random.js';
export { exportIdentity, importIdentity } from './store/key-backup.js';
export type { NodeLimits, SetLimitsReport } from './limits.js';
export type { LogLevel } from './log.js';
