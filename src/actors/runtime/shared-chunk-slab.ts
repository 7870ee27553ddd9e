/**
 * Chunk answers received straight into shared, page-aligned memory, so the fetcher writes them with O_DIRECT
 * from where they landed instead of copying each into an aligned slot of its own first (fetcher/direct-io.ts).
 *
 * The session owns the slab. Its frame reader asks for a body when the length prefix of an expected CHUNK_DATA
 * answer arrives; the body is placed to end at its slot's end. Chunk bytes end the frame (CHUNK_DATA's `bytes`
 * is its last field, `payload` the envelope's), and the slot is one 4 KiB page longer than a chunk: a full
 * chunk's bytes thus start on a 4 KiB boundary, whatever the length of the CBOR before them. The answer crosses
 * to the fetcher as a view of the same memory (a SharedArrayBuffer is shared by postMessage, not copied), and
 * the fetcher hands the slot back by its byte offset once the chunk is written and hashed (session mailbox
 * `recycleBuffers`).
 *
 * A slot is free, or in use by exactly one owner; everything that drops a frame from the slab must release it.
 * A slot nobody releases is lost to the slab, not reused: the fallback is the copying path, never memory two
 * readers write at once. `inUse` shows how many are out.
 */
import { CHUNK_SIZE } from '../../protocol/content.js';

/** A full chunk's frame, ending at the slot end, starts its chunk bytes one 4 KiB page into the slot. */
export const SLAB_SLOT_BYTES = CHUNK_SIZE + 4096;
/** Smaller frames are not chunk answers worth a slot. */
const MIN_SLAB_FRAME = CHUNK_SIZE / 2;
const WASM_PAGE = 65_536;

/** The compiler's lib has no WebAssembly types without "dom". */
declare const WebAssembly: { Memory: new (d: { initial: number; maximum: number; shared: boolean }) => { buffer: SharedArrayBuffer } };

export class SharedChunkSlab {
  readonly slots: number;
  readonly #mem: Uint8Array;
  readonly #free: number[];
  /** 1 while a slot is out (taken, not yet released): a second release of one slot is ignored. */
  readonly #out: Uint8Array;

  /** A WebAssembly.Memory: allocated in whole pages, so every slot (a multiple of 4 KiB) starts page-aligned. */
  constructor(slots = 64) {
    if (!Number.isInteger(slots) || slots <= 0) throw new RangeError('slots must be a positive integer');
    const pages = Math.ceil((SLAB_SLOT_BYTES * slots) / WASM_PAGE);
    this.#mem = new Uint8Array(new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }).buffer);
    this.slots = slots;
    this.#free = Array.from({ length: slots }, (_, i) => slots - 1 - i);
    this.#out = new Uint8Array(slots);
  }

  get inUse(): number {
    return this.slots - this.#free.length;
  }

  /** A view of `len` bytes ending at a free slot's end; undefined when none is free or `len` does not suit a slot. */
  take(len: number): Uint8Array | undefined {
    if (len < MIN_SLAB_FRAME || len > SLAB_SLOT_BYTES) return undefined;
    const i = this.#free.pop();
    if (i === undefined) return undefined;
    this.#out[i] = 1;
    const end = (i + 1) * SLAB_SLOT_BYTES;
    return this.#mem.subarray(end - len, end);
  }

  /** Does `view` lie in this slab (in this thread's handle of it)? */
  owns(view: Uint8Array): boolean {
    return view.buffer === this.#mem.buffer;
  }

  /** Frees the slot holding byte `offset` of the slab (a view's byteOffset, as another thread reports it). */
  releaseOffset(offset: number): void {
    if (!Number.isInteger(offset) || offset < 0 || offset >= this.#mem.length) return;
    const i = Math.floor(offset / SLAB_SLOT_BYTES);
    if (this.#out[i] !== 1) return;
    this.#out[i] = 0;
    this.#free.push(i);
  }

  /** Frees the slot `view` lies in; views from elsewhere are ignored. */
  release(view: Uint8Array): void {
    if (this.owns(view)) this.releaseOffset(view.byteOffset);
  }

  /** The slot index of a byte offset (for a borrower's ledger), or -1 outside the slab. */
  slotOf(offset: number): number {
    return Number.isInteger(offset) && offset >= 0 && offset < this.#mem.length ? Math.floor(offset / SLAB_SLOT_BYTES) : -1;
  }
}

/**
 * May `bytes` be written with O_DIRECT as they are? True for a full chunk in shared memory on a 4 KiB boundary:
 * in this program shared memory is a SharedChunkSlab, whose base is page-aligned. A file system that still
 * refuses (EINVAL) gets the copy through an aligned slot instead.
 */
export function directWritable(bytes: Uint8Array): boolean {
  return bytes.buffer instanceof SharedArrayBuffer && bytes.length === CHUNK_SIZE && bytes.byteOffset % 4096 === 0;
}
