/**
 * Our own message vectors (vectors/messages.json): the generator run against src/ reproduces the file, and
 * every entry re-encodes to its bytes and decodes back to its value.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as p from '../../src/protocol/index.js';
// @ts-ignore — plain .mjs generator shared with `npm run vectors`
import { generate, reviveValue } from '../../scripts/vectors/messages.mjs';

const V = JSON.parse(readFileSync(join(import.meta.dirname, '../../vectors/messages.json'), 'utf8')) as {
  messages: Record<string, { codec: keyof typeof p.WIRE_CODECS; value: unknown; hex: string }>;
  frames: Record<string, string>;
};

describe('vectors/messages.json', () => {
  it('is reproduced byte for byte from src/', () => {
    expect(generate(p)).toEqual(V);
  });
  it('covers every wire codec', () => {
    const used = new Set(Object.values(V.messages).map((m) => m.codec));
    expect(Object.keys(p.WIRE_CODECS).filter((c) => !used.has(c as never))).toEqual([]);
  });
  for (const [name, m] of Object.entries(V.messages)) {
    it(name, () => {
      const codec = p.WIRE_CODECS[m.codec] as p.MessageCodec<unknown>;
      const value = reviveValue(m.value);
      expect(p.toHex(codec.encode(value as never))).toBe(m.hex);
      expect(codec.decode(p.fromHex(m.hex))).toEqual(value);
    });
  }
  it('frame prefixes', () => {
    expect(V.frames['handshake-max-prefix']).toBe('00010000');
    expect(V.frames['envelope-max-prefix']).toBe('00200000');
  });
});
