/**
 * Chunk answers received into the shared slab (runtime/shared-chunk-slab.ts) through a ConnectionCore: where the
 * bytes land, and that every frame the connection does not pass on goes back to the slab.
 */
import { describe, expect, it } from 'vitest';
import { SharedChunkSlab } from '../../../src/actors/runtime/shared-chunk-slab.js';
import type { FrameLoan } from '../../../src/actors/session/connection-core.js';
import { CHUNK_SIZE } from '../../../src/protocol/content.js';
import { writeFramePrefix } from '../../../src/protocol/frame.js';
import { MessageType } from '../../../src/protocol/registry.js';
import { chunkDataCodec, getChunkCodec } from '../../../src/protocol/transfer-messages.js';
import { Pair, type Side } from './pair.js';

const CONTENT = new Uint8Array(32).fill(5);

function loaned(): { p: Pair; slab: SharedChunkSlab; givenBack: number[] } {
  waiting = [];
  const slab = new SharedChunkSlab(4);
  const givenBack: number[] = [];
  const frameLoan: FrameLoan = {
    lent: (f) => slab.owns(f),
    giveBack: (f) => {
      if (slab.owns(f)) givenBack.push(f.byteOffset);
      slab.release(f);
    },
  };
  const p = new Pair({ aComponents: { allocFrame: (len, chunkAnswer) => (chunkAnswer ? slab.take(len) : undefined) ?? new Uint8Array(len), frameLoan } }).start();
  p.take(p.a, 'established');
  p.take(p.b, 'established');
  return { p, slab, givenBack };
}

/** Moves `from`'s queued bytes to its peer in 16 KiB slices (as TLS records arrive); at most `limit` bytes. */
function deliverSliced(p: Pair, from: Side, limit = Infinity): number {
  const to = p.peer(from);
  let sent = 0;
  for (let t = from.core.pollTransmit(); t !== undefined; t = from.core.pollTransmit()) {
    for (let o = 0; o < t.length && sent < limit; o += 16_384) {
      const part = t.subarray(o, Math.min(t.length, o + 16_384, o + limit - sent));
      to.core.handle({ kind: 'bytes', data: part }, p.now);
      sent += part.length;
    }
  }
  return sent;
}

function askChunk(p: Pair, index: number, timeoutMs?: number): number {
  const r = p.a.core.request({ type: MessageType.GET_CHUNK, payload: getChunkCodec.encode({ contentId: CONTENT, chunkIndex: index }), ...(timeoutMs ? { timeoutMs } : {}) }, p.now);
  p.drive();
  if (!r.ok) throw new Error('request refused');
  return r.id;
}

/** Answers the oldest request B has not answered yet with chunk `index`. */
function answerChunk(p: Pair, index: number): Uint8Array {
  const bytes = Uint8Array.from({ length: CHUNK_SIZE }, (_, i) => (i * 7 + index) & 0xff);
  waiting.push(...p.take(p.b, 'inbound-request'));
  const inb = waiting.shift();
  p.b.core.respond(inb!.id, { payload: chunkDataCodec.encode({ contentId: CONTENT, chunkIndex: index, bytes }) }, p.now);
  return bytes;
}
let waiting: { id: number }[] = [];

describe('ConnectionCore with a frame loan (shared chunk slab)', () => {
  it('a chunk answer lands in the slab with its chunk bytes on a 4 KiB boundary, and stays lent', () => {
    const { p, slab, givenBack } = loaned();
    const id = askChunk(p, 3);
    const sent = answerChunk(p, 3);
    deliverSliced(p, p.b);
    p.drive();
    const [res] = p.take(p.a, 'response');
    expect(res!.id).toBe(id);
    const payload = res!.envelope.payload;
    expect(slab.owns(payload)).toBe(true);
    const chunk = chunkDataCodec.decode(payload).bytes;
    expect(chunk.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(chunk.byteOffset % 4096).toBe(0);
    expect(Buffer.from(chunk).equals(Buffer.from(sent))).toBe(true);
    expect(slab.inUse).toBe(1);
    expect(givenBack).toEqual([]);
  });

  it('an answer that arrives after its request timed out goes back to the slab', () => {
    const { p, slab, givenBack } = loaned();
    askChunk(p, 1, 1_000);
    p.advance(1_000);
    expect(p.take(p.a, 'request-failed')).toHaveLength(1);
    answerChunk(p, 1);
    deliverSliced(p, p.b);
    p.drive();
    expect(p.take(p.a, 'response')).toHaveLength(0);
    expect(givenBack).toHaveLength(1);
    expect(slab.inUse).toBe(0);
  });

  it('a connection that breaks inside a chunk answer gives its slot back', () => {
    const { p, slab } = loaned();
    askChunk(p, 2);
    answerChunk(p, 2);
    deliverSliced(p, p.b, 100_000);
    expect(slab.inUse).toBe(1);
    p.a.core.handle({ kind: 'transport-error', message: 'reset by peer' }, p.now);
    p.drive();
    expect(p.a.core.state).toBe('closed');
    expect(slab.inUse).toBe(0);
  });

  it('an undecodable frame where a chunk answer was expected is given back and the connection closed', () => {
    const { p, slab, givenBack } = loaned();
    askChunk(p, 0);
    p.take(p.b, 'inbound-request');
    const frame = new Uint8Array(4 + 200_000).fill(0xff);
    writeFramePrefix(frame, 200_000);
    for (let o = 0; o < frame.length; o += 16_384) p.a.core.handle({ kind: 'bytes', data: frame.subarray(o, o + 16_384) }, p.now);
    p.drive();
    expect(p.take(p.a, 'close')[0]!.reason.code).toBe('bad-envelope');
    expect(givenBack).toHaveLength(1);
    expect(slab.inUse).toBe(0);
  });

  it('answers beyond the free slots take ordinary memory, and every slot comes back once given back', () => {
    const { p, slab } = loaned();
    for (let i = 0; i < 6; i++) askChunk(p, i);
    for (let i = 0; i < 6; i++) answerChunk(p, i);
    deliverSliced(p, p.b);
    p.drive();
    const answers = p.take(p.a, 'response').map((r) => r.envelope.payload);
    expect(answers).toHaveLength(6);
    expect(answers.filter((a) => slab.owns(a))).toHaveLength(4);
    answers.forEach((a, i) => expect(chunkDataCodec.decode(a).chunkIndex).toBe(i));
    for (const a of answers) slab.release(a);
    expect(slab.inUse).toBe(0);
  });
});
