import { ScpError, type ScpErrorCode } from '../../errors.js';
import type { RpcFrame, WireError } from '../../messages/control.js';
import type { Clock, TimerHandle } from './clock.js';
import type { PortLike } from './port.js';
import { unwrapTransfer } from './transfer.js';

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  transfer?: readonly ArrayBuffer[];
  /**
   * Gets the value of a successful reply that arrives after the call timed out or was aborted, instead of it being
   * dropped: for values holding something the caller must hand back (a shared-slab slot, runtime/shared-chunk-slab.ts).
   */
  onLateReply?: (value: unknown) => void;
}

/** Calls given up on whose late replies are still wanted (onLateReply), oldest first; beyond this they are forgotten. */
const MAX_ABANDONED = 4096;

export type Serve = (body: { type: string }) => unknown;

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  timer: TimerHandle | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  onLateReply: ((value: unknown) => void) | undefined;
  what: string;
}

/**
 * Request/reply over one port, with correlation ids, timeouts (on the injected clock) and AbortSignal.
 * Plain structured-clone frames, not comlink: bench/actors.bench.mjs measured both (docs/ARCHITECTURE.md),
 * and we need per-call timeouts, cancellation and "fail every waiting caller now" that comlink lacks.
 * Frames that are not request/reply go to `onOther` (control traffic shares the port).
 */
export class RpcEndpoint {
  readonly #port: PortLike;
  readonly #clock: Clock;
  readonly #label: string;
  readonly #defaultTimeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  readonly #abandoned = new Map<number, (value: unknown) => void>();
  readonly #listener: (m: unknown) => void;
  #serve: Serve | undefined;
  #onOther: ((frame: { kind: string }) => void) | undefined;
  #nextId = 1;
  #closedWith: ScpError | undefined;
  #serving = 0;

  constructor(
    port: PortLike,
    opts: { clock: Clock; label: string; defaultTimeoutMs?: number; serve?: Serve; onOther?: (frame: { kind: string }) => void },
  ) {
    this.#port = port;
    this.#clock = opts.clock;
    this.#label = opts.label;
    this.#defaultTimeoutMs = opts.defaultTimeoutMs ?? 30_000;
    this.#serve = opts.serve;
    this.#onOther = opts.onOther;
    this.#listener = (m) => this.#onFrame(m as { kind: string });
    port.on('message', this.#listener);
    port.start?.();
  }

  setServe(serve: Serve | undefined): void {
    this.#serve = serve;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Requests received on this port whose answer is still being worked out (mailbox depth). */
  get servingCount(): number {
    return this.#serving;
  }

  request(body: { type: string }, opts: CallOptions = {}): Promise<unknown> {
    if (this.#closedWith) return Promise.reject(this.#closedWith);
    const what = `${this.#label}.${body.type}`;
    if (opts.signal?.aborted) return Promise.reject(ScpError.aborted(what));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const p: Pending = { resolve, reject, timer: undefined, signal: opts.signal, onAbort: undefined, onLateReply: opts.onLateReply, what };
      const timeoutMs = opts.timeoutMs ?? this.#defaultTimeoutMs;
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        p.timer = this.#clock.setTimeout(() => this.#giveUp(id, ScpError.timeout(what, timeoutMs)), timeoutMs);
      }
      if (opts.signal) {
        p.onAbort = () => this.#giveUp(id, ScpError.aborted(what));
        opts.signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.#pending.set(id, p);
      const frame: RpcFrame = { kind: 'request', id, body };
      try {
        this.#port.postMessage(frame, opts.transfer ?? []);
      } catch (err) {
        this.#settle(id, false, ScpError.internal(`could not send ${what}: ${String(err)}`, err));
      }
    });
  }

  /** Rejects every waiting caller (the other side crashed or was replaced): no reply will come, late or not. */
  failPending(err: ScpError): void {
    for (const id of [...this.#pending.keys()]) this.#settle(id, false, err);
    this.#abandoned.clear();
  }

  /** The caller stops waiting (timeout, abort); a reply may still come, for `onLateReply`. */
  #giveUp(id: number, err: ScpError): void {
    const late = this.#pending.get(id)?.onLateReply;
    if (late) {
      this.#abandoned.set(id, late);
      if (this.#abandoned.size > MAX_ABANDONED) this.#abandoned.delete(this.#abandoned.keys().next().value as number);
    }
    this.#settle(id, false, err);
  }

  /** Stops listening, fails waiting callers with `err`, and closes the port. */
  close(err: ScpError): void {
    if (this.#closedWith) return;
    this.#closedWith = err;
    this.failPending(err);
    this.#port.off('message', this.#listener);
    try {
      this.#port.close();
    } catch {
      // already closed by the other side
    }
  }

  /** Sends a non-rpc frame on the same port. */
  post(frame: { kind: string }, transfer?: readonly (ArrayBuffer | PortLike)[]): void {
    if (this.#closedWith) return;
    this.#port.postMessage(frame, transfer ?? []);
  }

  #settle(id: number, ok: boolean, v: unknown): void {
    const p = this.#pending.get(id);
    if (!p) return; // late reply after a timeout or abort: dropped on purpose
    this.#pending.delete(id);
    if (p.timer !== undefined) this.#clock.clearTimeout(p.timer);
    if (p.signal && p.onAbort) p.signal.removeEventListener('abort', p.onAbort);
    if (ok) p.resolve(v);
    else p.reject(v);
  }

  #onFrame(frame: { kind: string }): void {
    if (this.#closedWith) return;
    if (frame.kind === 'reply') {
      const f = frame as Extract<RpcFrame, { kind: 'reply' }>;
      const late = this.#abandoned.get(f.id);
      if (late) {
        this.#abandoned.delete(f.id);
        if (f.ok) late(f.value);
        return;
      }
      if (f.ok) this.#settle(f.id, true, f.value);
      else this.#settle(f.id, false, errorFromWire(f.error));
      return;
    }
    if (frame.kind === 'request') {
      void this.#answer(frame as Extract<RpcFrame, { kind: 'request' }>);
      return;
    }
    this.#onOther?.(frame);
  }

  async #answer(f: Extract<RpcFrame, { kind: 'request' }>): Promise<void> {
    let reply: RpcFrame;
    let transfer: readonly ArrayBuffer[] = [];
    this.#serving++;
    try {
      if (!this.#serve) throw ScpError.actorUnavailable(this.#label, 'it does not serve requests on this port');
      const { value, list } = unwrapTransfer(await this.#serve(f.body));
      reply = { kind: 'reply', id: f.id, ok: true, value };
      transfer = list;
    } catch (err) {
      reply = { kind: 'reply', id: f.id, ok: false, error: errorToWire(err) };
    } finally {
      this.#serving--;
    }
    if (this.#closedWith) return;
    try {
      this.#port.postMessage(reply, transfer);
    } catch (err) {
      this.#port.postMessage({ kind: 'reply', id: f.id, ok: false, error: errorToWire(err) } satisfies RpcFrame);
    }
  }
}

export function errorToWire(err: unknown): WireError {
  if (err instanceof ScpError) return err.toJSON();
  if (err instanceof Error) return { code: 'INTERNAL', message: err.message };
  return { code: 'INTERNAL', message: String(err) };
}

export function errorFromWire(e: WireError): ScpError {
  return new ScpError(e.code as ScpErrorCode, e.message, e.details);
}
