/**
 * Hands chunk buffers back to the actor that allocated them once this one is done with them, so they are reused
 * instead of fresh memory (chunk-buffer-pool.ts). Batched: one message per `batch` buffers or per `delayMs`,
 * whichever comes first.
 */
import type { Clock, TimerHandle } from './clock.js';

export class BufferRecycler {
  #pending: ArrayBuffer[] = [];
  /** Views of shared memory (runtime/shared-chunk-slab.ts): their byte offsets, which say the slot. */
  #shared: number[] = [];
  #timer: TimerHandle | undefined;

  constructor(
    private readonly send: (buffers: ArrayBuffer[], sharedOffsets: number[]) => void,
    private readonly clock: Clock,
    private readonly batch = 8,
    private readonly delayMs = 25,
  ) {}

  /** The caller keeps no reference to `bytes` (nor to anything else viewing its buffer). */
  recycle(bytes: Uint8Array): void {
    const b = bytes.buffer;
    if (b instanceof SharedArrayBuffer) this.#shared.push(bytes.byteOffset);
    else if (b.byteLength > 0) this.#pending.push(b);
    else return;
    if (this.#pending.length + this.#shared.length >= this.batch) this.flush();
    else this.#timer ??= this.clock.setTimeout(() => this.flush(), this.delayMs);
  }

  flush(): void {
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length + this.#shared.length === 0) return;
    const buffers = this.#pending;
    const shared = this.#shared;
    this.#pending = [];
    this.#shared = [];
    this.send(buffers, shared);
  }

  close(): void {
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = [];
    this.#shared = [];
  }
}
