/**
 * Typed errors. `ScpError` is what embedders see: a stable `code` plus a message that says what to do next.
 * `ProtocolError` is a peer's fault (bad bytes on the wire); it costs that peer its connection, never the node.
 */

export type ScpErrorCode =
  | 'BAD_INPUT'
  | 'NOT_FOUND'
  | 'VERIFY_FAILED'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'ACTOR_UNAVAILABLE'
  | 'PROTOCOL'
  | 'IO'
  | 'CONFLICT'
  | 'LIMIT'
  | 'UNAUTHORIZED'
  | 'NODE_STOPPED'
  | 'REMOTE'
  | 'UNREACHABLE'
  | 'INTERNAL';

export class ScpError extends Error {
  readonly code: ScpErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ScpErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ScpError';
    this.code = code;
    this.details = details;
  }

  static badInput(message: string, details?: Record<string, unknown>): ScpError {
    return new ScpError('BAD_INPUT', message, details);
  }
  static notFound(message: string, details?: Record<string, unknown>): ScpError {
    return new ScpError('NOT_FOUND', message, details);
  }
  static verifyFailed(message: string, details?: Record<string, unknown>): ScpError {
    return new ScpError('VERIFY_FAILED', message, details);
  }
  static timeout(what: string, ms: number): ScpError {
    return new ScpError('TIMEOUT', `${what} timed out after ${ms} ms; retry, or pass a larger timeoutMs`, { ms });
  }
  static aborted(what: string): ScpError {
    return new ScpError('ABORTED', `${what} was aborted by its AbortSignal`);
  }
  static actorUnavailable(actor: string, why: string): ScpError {
    return new ScpError(
      'ACTOR_UNAVAILABLE',
      `actor "${actor}" is unavailable (${why}); the supervisor restarts it, so retry shortly`,
      { actor },
    );
  }
  static limit(message: string, details?: Record<string, unknown>): ScpError {
    return new ScpError('LIMIT', message, details);
  }
  static io(message: string, cause?: unknown): ScpError {
    return new ScpError('IO', message, undefined, { cause });
  }
  /** A peer answered with an error envelope; `text` is its wire text (e.g. "manifest not found"). */
  static remote(text: string, details?: Record<string, unknown>): ScpError {
    return new ScpError('REMOTE', `peer answered with an error: ${text}`, { text, ...details });
  }
  static unreachable(addr: string, why: string): ScpError {
    return new ScpError('UNREACHABLE', `could not reach ${addr}: ${why}`, { addr });
  }
  static internal(message: string, cause?: unknown): ScpError {
    return new ScpError('INTERNAL', message, undefined, { cause });
  }

  /** A plain object that survives structured clone across worker threads. */
  toJSON(): { code: ScpErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }

  static fromJSON(v: { code: ScpErrorCode; message: string; details?: Record<string, unknown> }): ScpError {
    return new ScpError(v.code, v.message, v.details);
  }
}

/**
 * Bad bytes from a peer. `where` names the field path (e.g. "ManifestV1.items[3].size"), `wireText` is the
 * reference's error text when the wire needs one (sent back in an error envelope).
 */
export class ProtocolError extends ScpError {
  readonly where: string;
  readonly wireText: string | undefined;

  constructor(message: string, where: string, wireText?: string) {
    super('PROTOCOL', where ? `${where}: ${message}` : message, { where });
    this.name = 'ProtocolError';
    this.where = where;
    this.wireText = wireText;
  }
}
