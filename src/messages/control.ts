import type { ActorName, CrashMode } from './actor-name.js';
import type { NodeEvent } from './node-events.js';
import type { ActorLogRecord } from '../actors/runtime/actor-log.js';
import type { LogLevel } from '../log.js';

/** Error as it crosses a thread (ScpError.toJSON shape). */
export interface WireError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** Request/reply frames, on the control port and on every direct actor-to-actor port. */
export type RpcFrame =
  | { kind: 'request'; id: number; body: { type: string } }
  | { kind: 'reply'; id: number; ok: true; value: unknown }
  | { kind: 'reply'; id: number; ok: false; error: WireError };

/** Supervisor -> actor, on the control port (besides requests). */
export type ControlToActor =
  | { kind: 'peer-up'; name: ActorName; port: unknown }
  | { kind: 'peer-down'; name: ActorName }
  | { kind: 'crash'; mode: CrashMode }
  | { kind: 'stop' };

/** Actor -> supervisor, on the control port (besides replies). */
export type ControlFromActor =
  | { kind: 'ready' }
  | { kind: 'start-failed'; error: WireError }
  /** Heartbeat; `mailbox` = requests the actor has taken and not answered yet (health's mailboxDepth). */
  | { kind: 'beat'; mailbox?: number }
  | { kind: 'event'; event: NodeEvent }
  /** A log line from the actor's `ctx.log`, written by the supervisor through the node's logger. */
  | { kind: 'log'; record: ActorLogRecord }
  | { kind: 'fatal'; error: WireError }
  | { kind: 'stopped' };

/** What an actor is given when an incarnation starts. */
export interface ActorInit {
  name: ActorName;
  incarnation: number;
  dataDir: string;
  heartbeatIntervalMs: number;
  seed: number;
  /** Actor-specific settings (the persistence actor's passphrase, the hashing pool size, ...). */
  config: Record<string, unknown>;
  /** The node logger's level: `ctx.log` drops lower lines in the actor. Absent = silent. */
  logLevel?: LogLevel;
}
