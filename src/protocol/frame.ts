/**
 * Frames (PROTOCOL.md §2.1): a 4-byte big-endian length, then exactly that many bytes. Handshake frames are
 * capped at 64 KiB, envelope frames at 2 MiB, and the reference checks the cap on the prefix before it reads
 * the body, so a peer cannot make us buffer more than one maximal frame.
 *
 * `FrameReader` is sans-I/O: the transport pushes whatever byte slices the socket hands it and pulls whole
 * frames. A frame lying inside one pushed slice is returned as a view of that slice (no copy); a frame split
 * across slices is assembled into a buffer sized by the already-checked prefix.
 *
 * Direct reads (`writable` / `wrote`): a transport that can decrypt into memory we name (node:tls with `onread`)
 * asks where the next bytes go. Inside a frame body already allocated that is the rest of the body, so a chunk's
 * bytes land in place with no copy of ours; elsewhere it is a small scratch buffer, fed back through `push` as
 * transient bytes (frames in it are copied out, since the scratch is reused).
 */
import { ProtocolError, ScpError } from '../errors.js';
import { MAX_ENVELOPE_FRAME_BYTES } from './limits.js';

/** Writes the 4-byte big-endian length prefix at the start of `out`. */
export function writeFramePrefix(out: Uint8Array, length: number): void {
  out[0] = length >>> 24;
  out[1] = (length >>> 16) & 0xff;
  out[2] = (length >>> 8) & 0xff;
  out[3] = length & 0xff;
}

/** Just the 4-byte prefix, for writers that send the prefix and a body they already hold (writev). */
export function framePrefix(length: number): Uint8Array {
  const out = new Uint8Array(4);
  writeFramePrefix(out, length);
  return out;
}

/**
 * Length prefix + body in one buffer. Like the reference's writer, refuses a body above `maxFrameBytes`
 * (2 MiB by default; pass HANDSHAKE_MAX_BYTES for handshake frames).
 */
export function encodeFrame(body: Uint8Array, maxFrameBytes: number = MAX_ENVELOPE_FRAME_BYTES): Uint8Array {
  if (!(body instanceof Uint8Array)) throw ScpError.badInput('frame body must be a Uint8Array');
  if (body.length > maxFrameBytes) {
    throw ScpError.badInput(`frame body of ${body.length} bytes exceeds the ${maxFrameBytes}-byte frame limit`);
  }
  const out = new Uint8Array(4 + body.length);
  writeFramePrefix(out, body.length);
  out.set(body, 4);
  return out;
}

const EMPTY = new Uint8Array(0);
/** A frame up to this size spanning slices gets its body at once; larger ones once half has arrived. */
const EAGER_BODY_BYTES = 64 * 1024;
/** Direct reads outside a body: node:tls hands out at most one 16 KiB record per read. */
const SCRATCH_BYTES = 16 * 1024;

/** A copy of `bytes[from, to)` in memory of its own (`slice` would share it when `bytes` is a Buffer). */
function copyOf(bytes: Uint8Array, from: number, to: number): Uint8Array {
  return new Uint8Array(bytes.subarray(from, to));
}

/** Buffers a FrameReader allocated for one frame body each (nothing else ever views them). */
const ownedBodies = new WeakSet<ArrayBufferLike>();

/**
 * True, once, when `view` lies in a frame body a FrameReader assembled in a buffer of its own (a frame that
 * arrived split across slices, as every large frame does). The caller then owns that whole buffer: it may
 * transfer it to another thread instead of copying `view` out. A frame viewing a pushed slice (a socket's
 * possibly pooled memory) is never claimable.
 */
export function claimFrameBuffer(view: Uint8Array): boolean {
  const b = view.buffer;
  if (!ownedBodies.has(b)) return false;
  ownedBodies.delete(b);
  return true;
}

export class FrameReader {
  /** Completed frames not yet pulled, oldest at `readyHead`. */
  private ready: Uint8Array[] = [];
  private readyHead = 0;
  /** Prefix bytes seen so far of the frame being read (0..3) and their value. */
  private prefixHave = 0;
  private prefixValue = 0;
  /** The body being assembled across slices, allocated only after its prefix passed the size check. */
  private body: Uint8Array | undefined;
  private bodyFill = 0;
  /**
   * A large frame spanning slices is not allocated at its announced size at once: its slices are kept as views
   * until half of it has arrived (then copied into the body, the one copy it always got). A peer announcing
   * 2 MiB and trickling bytes (slowloris) thus makes us hold at most twice what it sent, not 2 MiB per connection.
   */
  private pendingLen = 0;
  private pieces: Uint8Array[] = [];
  private piecesBytes = 0;
  private failure: ProtocolError | undefined;
  /** Direct reads: memory for bytes that do not go into a body, and where the last `writable()` pointed. */
  private scratch: Uint8Array | undefined;
  private targetIsBody = false;

  /**
   * @param maxFrameBytes largest body accepted: HANDSHAKE_MAX_BYTES (64 KiB) while handshaking,
   *   MAX_ENVELOPE_FRAME_BYTES (2 MiB) for envelopes.
   * @param what names the stream in errors ("handshake frame", "envelope frame").
   */
  /**
   * @param allocBody where a frame body that arrives split across slices is assembled: a buffer of its own per
   *   frame (default `new Uint8Array(len)`), or a view of length `len` of a recycled one. `bulk`: `eagerBody` said
   *   yes (the expected answer to a chunk request).
   */
  /**
   * @param eagerBody a large frame (above 64 KiB) for which this says yes gets its body at once instead of after
   *   half of it arrived: the answer to a chunk request we are waiting for, whose bytes direct reads then put in place.
   */
  constructor(
    readonly maxFrameBytes: number = MAX_ENVELOPE_FRAME_BYTES,
    readonly what = 'frame',
    private readonly allocBody: (len: number, bulk: boolean) => Uint8Array = (len) => new Uint8Array(len),
    private readonly eagerBody?: (len: number) => boolean,
  ) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 0 || maxFrameBytes > 0xffff_ffff) {
      throw ScpError.badInput('maxFrameBytes must be an integer in 0..2^32-1');
    }
  }

  /**
   * Feeds bytes from the stream. Throws ProtocolError as soon as a length prefix above the limit is seen
   * (before any of its body is kept); after that the reader is dead and every push throws the same error.
   * Frames completed before the bad prefix can still be pulled. The caller keeps `chunk` unmodified until
   * the frames viewing it are consumed (sockets hand out fresh buffers, so this holds naturally) — unless
   * `transient`: then nothing keeps a view of `chunk` (its memory is reused once push returns).
   */
  push(chunk: Uint8Array, transient = false): void {
    if (this.failure) throw this.failure;
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.pendingLen > 0) {
        const k = Math.min(this.pendingLen - this.piecesBytes, n - i);
        this.pieces.push(transient ? copyOf(chunk, i, i + k) : chunk.subarray(i, i + k));
        this.piecesBytes += k;
        i += k;
        if (2 * this.piecesBytes >= this.pendingLen) this.commitBody();
        continue;
      }
      const body = this.body;
      if (body !== undefined) {
        const k = Math.min(body.length - this.bodyFill, n - i);
        body.set(chunk.subarray(i, i + k), this.bodyFill);
        this.bodyFill += k;
        i += k;
        if (this.bodyFill === body.length) {
          this.ready.push(body);
          this.body = undefined;
          this.bodyFill = 0;
        }
        continue;
      }
      // Reading a prefix; multiplication keeps the value unsigned past 2^31.
      this.prefixValue = this.prefixValue * 256 + chunk[i]!;
      this.prefixHave++;
      i++;
      if (this.prefixHave < 4) continue;
      const len = this.prefixValue;
      this.prefixHave = 0;
      this.prefixValue = 0;
      if (len > this.maxFrameBytes) {
        this.failure = new ProtocolError(`length prefix ${len} exceeds the ${this.maxFrameBytes}-byte limit`, this.what);
        throw this.failure;
      }
      if (len === 0) {
        this.ready.push(EMPTY);
      } else if (n - i >= len) {
        this.ready.push(transient ? copyOf(chunk, i, i + len) : chunk.subarray(i, i + len));
        i += len;
      } else if (len <= EAGER_BODY_BYTES) {
        this.startBody(this.allocBody(len, false));
      } else if (this.eagerBody?.(len)) {
        this.startBody(this.allocBody(len, true));
      } else {
        this.pendingLen = len;
      }
    }
  }

  private startBody(body: Uint8Array): void {
    this.own(body);
    this.body = body;
    this.bodyFill = 0;
  }

  /** Bodies in shared memory belong to whoever lent it (allocBody's owner), never to claimFrameBuffer. */
  private own(body: Uint8Array): void {
    if (body.buffer instanceof ArrayBuffer) ownedBodies.add(body.buffer);
  }

  /** Allocates the exact body of the pending frame and copies the slices received so far into it. */
  private commitBody(): void {
    const body = this.allocBody(this.pendingLen, false);
    this.own(body);
    let fill = 0;
    for (const p of this.pieces) {
      body.set(p, fill);
      fill += p.length;
    }
    this.pendingLen = 0;
    this.pieces = [];
    this.piecesBytes = 0;
    if (fill === body.length) {
      this.ready.push(body);
    } else {
      this.body = body;
      this.bodyFill = fill;
    }
  }

  /**
   * Direct reads: where the next bytes of the stream should be written — the rest of the frame body being
   * assembled, or scratch memory. Never empty. Report what was written with `wrote`.
   */
  writable(): Uint8Array {
    const body = this.body;
    if (body !== undefined && this.failure === undefined) {
      this.targetIsBody = true;
      return body.subarray(this.bodyFill);
    }
    this.targetIsBody = false;
    return (this.scratch ??= new Uint8Array(SCRATCH_BYTES));
  }

  /**
   * `n` bytes were written at the start of the last `writable()`. Bytes that went into a body are taken in here
   * (undefined is returned); scratch bytes are returned for the caller to `push(bytes, true)` (or to read
   * otherwise: a handshake before envelopes).
   */
  wrote(n: number): Uint8Array | undefined {
    if (!this.targetIsBody) return (this.scratch as Uint8Array).subarray(0, n);
    const body = this.body as Uint8Array;
    this.bodyFill += n;
    if (this.bodyFill === body.length) {
      this.ready.push(body);
      this.body = undefined;
      this.bodyFill = 0;
    }
    return undefined;
  }

  /** The next complete frame body, or undefined until more bytes arrive. */
  pull(): Uint8Array | undefined {
    if (this.readyHead >= this.ready.length) return undefined;
    const f = this.ready[this.readyHead]!;
    this.ready[this.readyHead++] = EMPTY; // drop the reference so a pulled frame can be collected
    if (this.readyHead === this.ready.length) {
      this.ready = [];
      this.readyHead = 0;
    }
    return f;
  }

  /** Pulls every complete frame. */
  *frames(): Generator<Uint8Array> {
    for (let f = this.pull(); f !== undefined; f = this.pull()) yield f;
  }

  /** Bytes of a partially received frame (prefix or body) held by the reader. */
  get partialBytes(): number {
    if (this.body !== undefined) return 4 + this.bodyFill;
    if (this.pendingLen > 0) return 4 + this.piecesBytes;
    return this.prefixHave;
  }

  /** Bytes held for the partial frame: its allocated body, or the slices kept until it is allocated. */
  get heldBytes(): number {
    return this.body !== undefined ? this.body.length : this.piecesBytes;
  }

  /** Complete frames waiting to be pulled. */
  get readyCount(): number {
    return this.ready.length - this.readyHead;
  }

  /**
   * Empties the reader of what it holds (the body being assembled, frames not pulled) and returns those bodies:
   * a stream given up on hands memory lent by `allocBody` back this way.
   */
  discard(): Uint8Array[] {
    const out = this.ready.slice(this.readyHead);
    if (this.body !== undefined) out.push(this.body);
    this.ready = [];
    this.readyHead = 0;
    this.body = undefined;
    this.bodyFill = 0;
    return out;
  }

  /**
   * Call at end of stream: throws ProtocolError if the stream stopped inside a frame (a truncated frame
   * is a peer fault, just like the reference's read_exact failing).
   */
  end(): void {
    if (this.failure) throw this.failure;
    if (this.partialBytes > 0) {
      this.failure = new ProtocolError(`stream ended inside a frame (${this.partialBytes} bytes pending)`, this.what);
      throw this.failure;
    }
  }
}
