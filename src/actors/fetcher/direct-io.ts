/**
 * Page-aligned staging memory for chunk writes that bypass the page cache (O_DIRECT).
 *
 * Why: a buffered write of a downloaded chunk makes the kernel allocate and fill fresh page-cache pages, and on
 * the VMs this project is measured on that is the largest single cost of a download (1.3–1.8 CPU-s per GiB when
 * the pages are new to the guest, 0.2–0.3 when recycled; `dd` here). An O_DIRECT write hands the bytes to the
 * device instead (0.25–0.4 CPU-s per GiB, 1.2 GB/s at queue depth 1 on this disk) and leaves the page cache to
 * the rest of the machine, as libtorrent's old `disable_os_cache` mode did.
 *
 * O_DIRECT needs the memory address, file offset and length aligned to the device's logical block. Chunks sit at
 * 256 KiB offsets with 256 KiB lengths (only the last chunk of a file is short: it is written through the page
 * cache), but an ArrayBuffer's memory is only 16-byte aligned. A WebAssembly.Memory is allocated in whole pages,
 * so its slots are: each full chunk is copied into a free slot (a memcpy, ~20 µs) and written from there.
 */
import { constants as FS } from 'node:fs';
import { CHUNK_SIZE } from '../../protocol/content.js';

/** The O_DIRECT open flag where the platform has one (Linux); undefined elsewhere (no direct writes). */
export const O_DIRECT: number | undefined = (FS as Record<string, number | undefined>).O_DIRECT;

const WASM_PAGE = 65_536;

/** The one WebAssembly API used here (the compiler's lib has no WebAssembly types without "dom"). */
declare const WebAssembly: { Memory: new (d: { initial: number; maximum: number }) => { buffer: ArrayBuffer } };

export class AlignedSlots {
  readonly slotBytes: number;
  readonly count: number;
  readonly #mem: Uint8Array;
  readonly #free: number[];
  readonly #waiting: ((slot: number) => void)[] = [];

  /** `slotBytes` must be a multiple of 4096 (every slot then starts on a 4 KiB boundary). */
  constructor(slotBytes: number = CHUNK_SIZE, count = 16) {
    if (slotBytes % 4096 !== 0 || slotBytes <= 0 || !Number.isInteger(count) || count <= 0) throw new RangeError('slots must be whole 4 KiB pages');
    const pages = Math.ceil((slotBytes * count) / WASM_PAGE);
    this.#mem = new Uint8Array(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer);
    this.slotBytes = slotBytes;
    this.count = count;
    this.#free = Array.from({ length: count }, (_, i) => count - 1 - i);
  }

  get available(): number {
    return this.#free.length;
  }

  /** A free slot's index, or undefined when every slot is in use. */
  acquire(): number | undefined {
    return this.#free.pop();
  }

  /**
   * A slot, waiting for one when all are in use: a disk slower than the network then holds the download back
   * (as a full page cache would) instead of sending the overflow through the page cache.
   */
  take(): number | Promise<number> {
    const i = this.#free.pop();
    if (i !== undefined) return i;
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Slot `i` holding a copy of `bytes` (at most `slotBytes`). */
  fill(i: number, bytes: Uint8Array): Uint8Array {
    const view = this.#mem.subarray(i * this.slotBytes, i * this.slotBytes + bytes.length);
    view.set(bytes);
    return view;
  }

  /** Slot `i`'s first `length` bytes, to read into. */
  view(i: number, length: number): Uint8Array {
    return this.#mem.subarray(i * this.slotBytes, i * this.slotBytes + length);
  }

  release(i: number): void {
    const next = this.#waiting.shift();
    if (next) next(i);
    else this.#free.push(i);
  }
}

let shared: AlignedSlots | undefined;

/** The thread's staging slots for direct chunk writes (32 × 256 KiB, made on first use). */
export function directWriteSlots(): AlignedSlots {
  return (shared ??= new AlignedSlots(CHUNK_SIZE, 32));
}
