/**
 * Manifest and chunk transfer (PROTOCOL.md §3.2, §3.3, §8.1), HAVE_CONTENT and the PROVIDERS DHT value.
 * GET_MANIFEST / MANIFEST_DATA / HAVE_CONTENT / PROVIDERS are string-keyed struct maps with 32-byte ids as int
 * arrays; GET_CHUNK / CHUNK_DATA / GET_CHUNK_HASHES / CHUNK_HASH_LIST are integer-keyed with byte-string ids
 * (but CHUNK_HASH_LIST's hashes are int arrays).
 *
 * CHUNK_DATA carries up to 256 KiB per message: its encoder sizes the output exactly and copies the chunk
 * once; its decoder returns the chunk as a view of the input.
 */
import type { CborWriter, CborValue } from './cbor.js';
import { anyBytes, asMap, b32, byteString, list, req, u32, u64 } from './cbor-fields.js';
import type { PeerAddr } from './peer-addr.js';
import { readPeerList, writePeerList } from './dht-messages.js';
import { bytesIn, defineMessageCodec, guardDecode, headSize, listIn, putHead, u64In, uintIn, type MessageCodec } from './message-codec.js';
import { decodeCbor } from './cbor.js';
import { ScpError } from '../errors.js';
import { MAX_CHUNK_DATA_BYTES, MAX_CHUNK_HASHES, MAX_ENVELOPE_PAYLOAD_BYTES, MAX_PROVIDERS } from './limits.js';

const ID_LEN = 32;

export interface GetManifest {
  manifestId: Uint8Array;
}

export interface ManifestData {
  manifestId: Uint8Array;
  /** CBOR of the signed ManifestV1 struct map (decode with decodeManifest). */
  bytes: Uint8Array;
}

export interface GetChunk {
  contentId: Uint8Array;
  chunkIndex: number;
}

export interface ChunkData {
  contentId: Uint8Array;
  chunkIndex: number;
  /** The chunk (≤ 256 KiB); on decode a view of the received bytes. */
  bytes: Uint8Array;
}

export interface GetChunkHashes {
  contentId: Uint8Array;
}

export interface ChunkHashList {
  contentId: Uint8Array;
  hashes: Uint8Array[];
}

export interface HaveContent {
  contentId: Uint8Array;
}

/** The `content:prov:` DHT value (type 498 is never sent as a message). */
export interface Providers {
  contentId: Uint8Array;
  providers: PeerAddr[];
  updatedAt: bigint;
}

function idField(w: CborWriter, key: string, id: Uint8Array, what: string): void {
  w.text(key).intArray(bytesIn(id, what, ID_LEN));
}

// ---------- string-keyed

export const getManifestCodec = defineMessageCodec<GetManifest>(
  'GetManifest',
  (w, v) => {
    w.map(1);
    idField(w, 'manifest_id', v.manifestId, 'GetManifest.manifestId');
  },
  (v, where) => {
    const m = asMap(v, where);
    return { manifestId: b32(req(m, 'manifest_id', where), `${where}.manifest_id`) };
  },
  80,
);

export const manifestDataCodec = defineMessageCodec<ManifestData>(
  'ManifestData',
  (w, v) => {
    w.map(2);
    idField(w, 'manifest_id', v.manifestId, 'ManifestData.manifestId');
    w.text('bytes').bytes(bytesIn(v.bytes, 'ManifestData.bytes', undefined, MAX_ENVELOPE_PAYLOAD_BYTES));
  },
  (v, where) => {
    const m = asMap(v, where);
    return {
      manifestId: b32(req(m, 'manifest_id', where), `${where}.manifest_id`),
      bytes: anyBytes(req(m, 'bytes', where), `${where}.bytes`, MAX_ENVELOPE_PAYLOAD_BYTES),
    };
  },
  4096,
);

export const haveContentCodec = defineMessageCodec<HaveContent>(
  'HaveContent',
  (w, v) => {
    w.map(1);
    idField(w, 'content_id', v.contentId, 'HaveContent.contentId');
  },
  (v, where) => {
    const m = asMap(v, where);
    return { contentId: b32(req(m, 'content_id', where), `${where}.content_id`) };
  },
  80,
);

export const providersCodec = defineMessageCodec<Providers>(
  'Providers',
  (w, v) => {
    w.map(3);
    idField(w, 'content_id', v.contentId, 'Providers.contentId');
    w.text('providers');
    writePeerList(w, v.providers, 'Providers.providers', MAX_PROVIDERS);
    w.text('updated_at').uint(u64In(v.updatedAt, 'Providers.updatedAt'));
  },
  (v, where) => {
    const m = asMap(v, where);
    return {
      contentId: b32(req(m, 'content_id', where), `${where}.content_id`),
      providers: readPeerList(req(m, 'providers', where), `${where}.providers`, MAX_PROVIDERS),
      updatedAt: u64(req(m, 'updated_at', where), `${where}.updated_at`),
    };
  },
  512,
);

// ---------- integer-keyed

export const getChunkCodec = defineMessageCodec<GetChunk>(
  'GetChunk',
  (w, v) => {
    w.map(2)
      .uint(0).bytes(bytesIn(v.contentId, 'GetChunk.contentId', ID_LEN))
      .uint(1).uint(uintIn(v.chunkIndex, 32, 'GetChunk.chunkIndex'));
  },
  (v, where) => {
    const m = asMap(v, where);
    return {
      contentId: byteString(req(m, 0, where), `${where}.0`, ID_LEN, ID_LEN),
      chunkIndex: u32(req(m, 1, where), `${where}.1`),
    };
  },
  48,
);

function encodeChunkData(v: ChunkData): Uint8Array {
  bytesIn(v.contentId, 'ChunkData.contentId', ID_LEN);
  uintIn(v.chunkIndex, 32, 'ChunkData.chunkIndex');
  const chunk = bytesIn(v.bytes, 'ChunkData.bytes', undefined, MAX_CHUNK_DATA_BYTES);
  const { payload, bytes } = allocChunkData(v.contentId, v.chunkIndex, chunk.length);
  bytes.set(chunk);
  return payload;
}

/**
 * An encoded CHUNK_DATA of exact size whose chunk bytes are left for the caller to fill through `bytes` (a
 * view of `payload`): lets a server read the chunk from disk straight into the reply, with no copy. `alloc` gives
 * the reply's memory (a view at offset 0 of a recycled buffer, say); by default a buffer of its own.
 */
export function allocChunkData(
  contentId: Uint8Array,
  chunkIndex: number,
  length: number,
  alloc: (size: number) => Uint8Array = (size) => new Uint8Array(size),
): { payload: Uint8Array; bytes: Uint8Array } {
  const id = bytesIn(contentId, 'ChunkData.contentId', ID_LEN);
  const idx = uintIn(chunkIndex, 32, 'ChunkData.chunkIndex');
  if (!Number.isInteger(length) || length < 0 || length > MAX_CHUNK_DATA_BYTES) {
    throw ScpError.badInput(`ChunkData.bytes must hold 0..${MAX_CHUNK_DATA_BYTES} bytes, got ${length}`);
  }
  // a3 00 5820 <id> 01 <idx> 02 <bstr head> <chunk>
  const out = alloc(1 + 1 + 2 + ID_LEN + 1 + headSize(idx) + 1 + headSize(length) + length);
  let p = 0;
  out[p++] = 0xa3;
  out[p++] = 0x00;
  p = putHead(out, p, 2, ID_LEN);
  out.set(id, p);
  p += ID_LEN;
  out[p++] = 0x01;
  p = putHead(out, p, 0, idx);
  out[p++] = 0x02;
  p = putHead(out, p, 2, length);
  return { payload: out, bytes: out.subarray(p) };
}

function readChunkData(v: CborValue, where: string): ChunkData {
  const m = asMap(v, where);
  return {
    contentId: byteString(req(m, 0, where), `${where}.0`, ID_LEN, ID_LEN),
    chunkIndex: u32(req(m, 1, where), `${where}.1`),
    bytes: byteString(req(m, 2, where), `${where}.2`, MAX_CHUNK_DATA_BYTES),
  };
}

export const chunkDataCodec: MessageCodec<ChunkData> = {
  name: 'ChunkData',
  encode: encodeChunkData,
  decode: (bytes) => guardDecode('ChunkData', () => readChunkData(decodeCbor(bytes, 'ChunkData'), 'ChunkData')),
};

export const getChunkHashesCodec = defineMessageCodec<GetChunkHashes>(
  'GetChunkHashes',
  (w, v) => {
    w.map(1).uint(0).bytes(bytesIn(v.contentId, 'GetChunkHashes.contentId', ID_LEN));
  },
  (v, where) => {
    const m = asMap(v, where);
    return { contentId: byteString(req(m, 0, where), `${where}.0`, ID_LEN, ID_LEN) };
  },
  48,
);

export const chunkHashListCodec = defineMessageCodec<ChunkHashList>(
  'ChunkHashList',
  (w, v) => {
    const hashes = listIn<Uint8Array>(v.hashes, 'ChunkHashList.hashes', MAX_CHUNK_HASHES);
    w.map(2).uint(0).bytes(bytesIn(v.contentId, 'ChunkHashList.contentId', ID_LEN)).uint(1).array(hashes.length);
    hashes.forEach((h, i) => w.intArray(bytesIn(h, `ChunkHashList.hashes[${i}]`, ID_LEN)));
  },
  (v, where) => {
    const m = asMap(v, where);
    return {
      contentId: byteString(req(m, 0, where), `${where}.0`, ID_LEN, ID_LEN),
      hashes: list(req(m, 1, where), `${where}.1`, MAX_CHUNK_HASHES, (x, at) => b32(x, at)),
    };
  },
  4096,
);
