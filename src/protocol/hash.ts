/**
 * Hash primitives. SHA-256 comes from node:crypto (OpenSSL, faster than any JS build). BLAKE3 comes from
 * @napi-rs/blake-hash (the Rust blake3 crate with its SIMD back ends, shipped as per-platform npm packages)
 * where its native build loads, else from blake3-wasm. Measured here on 256 KiB chunks: native 0.7–2.2 GiB/s,
 * WASM 0.36–0.56 GiB/s in the same runs (`node bench/hashing.bench.mjs`), @noble/hashes ~70 MiB/s.
 * Both give the same digests (test/protocol/hash-backends.test.ts).
 *
 * blake3-wasm's one-shot hash copies its input into WASM memory and its streaming update() is wrong for a
 * single piece above 1 MiB, so with that back end large inputs are fed in slices of at most 1 MiB.
 */
import { createHash as nodeCreateHash } from 'node:crypto';
import { createRequire } from 'node:module';

interface NativeBlake3 {
  blake3(input: Uint8Array): Uint8Array;
  Blake3Hasher: {
    new (): { update(input: Uint8Array): unknown; digestBuffer(): Uint8Array };
    deriveKey(context: string, material: Uint8Array): Uint8Array;
  };
}

interface Blake3Backend {
  readonly name: 'native' | 'wasm';
  hash(data: Uint8Array): Uint8Array;
  hasher(): Blake3Hasher;
  deriveKey(context: string, material: Uint8Array): Uint8Array;
}

const ONE_SHOT_MAX = 1 << 20;

function nativeBackend(): Blake3Backend | undefined {
  if (process.env.SCP2P_BLAKE3 === 'wasm') return undefined;
  let n: NativeBlake3;
  try {
    n = createRequire(import.meta.url)('@napi-rs/blake-hash') as NativeBlake3;
  } catch {
    return undefined; // no prebuilt binary for this platform: the WASM build serves
  }
  return {
    name: 'native',
    hash: (data) => new Uint8Array(n.blake3(data)),
    hasher() {
      const h = new n.Blake3Hasher();
      const api: Blake3Hasher = {
        update(data) {
          h.update(data);
          return api;
        },
        digest: () => new Uint8Array(h.digestBuffer()),
      };
      return api;
    },
    deriveKey: (context, material) => new Uint8Array(n.Blake3Hasher.deriveKey(context, material)),
  };
}

async function wasmBackend(): Promise<Blake3Backend> {
  const b3 = await import('blake3-wasm');
  // The WASM module must be instantiated once before use. Its Emscripten glue installs process-wide
  // 'uncaughtException' and 'unhandledRejection' listeners that re-throw, which would turn every error an
  // embedder means to catch into a crash: they are removed again.
  type Listener = (...args: unknown[]) => void;
  const events = ['uncaughtException', 'unhandledRejection'];
  const listeners = (e: string): Listener[] => process.listeners(e as 'uncaughtException') as unknown as Listener[];
  const before = events.map((e) => new Set(listeners(e)));
  await b3.load();
  events.forEach((e, i) => {
    for (const l of listeners(e)) if (!before[i]?.has(l)) process.removeListener(e, l);
  });
  const hasher = (): Blake3Hasher => {
    const h = b3.createHash();
    const api: Blake3Hasher = {
      update(data) {
        for (let o = 0; o < data.length; o += ONE_SHOT_MAX) h.update(data.subarray(o, Math.min(o + ONE_SHOT_MAX, data.length)));
        return api;
      },
      digest() {
        const d = new Uint8Array(h.digest());
        h.dispose(); // frees the hasher's WASM memory; the instance is done after one digest
        return d;
      },
    };
    return api;
  };
  return {
    name: 'wasm',
    hash: (data) => (data.length <= ONE_SHOT_MAX ? new Uint8Array(b3.hash(data)) : hasher().update(data).digest()),
    hasher,
    deriveKey: (context, material) => new Uint8Array(b3.deriveKey(context, material)),
  };
}

// Top-level await keeps every caller synchronous.
const backend: Blake3Backend = nativeBackend() ?? (await wasmBackend());

/** Which BLAKE3 build is in use ('native' or 'wasm'; SCP2P_BLAKE3=wasm forces the WASM one). */
export const blake3Backend: 'native' | 'wasm' = backend.name;

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = nodeCreateHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export interface Blake3Hasher {
  update(data: Uint8Array): Blake3Hasher;
  digest(): Uint8Array;
}

export function blake3Hasher(): Blake3Hasher {
  return backend.hasher();
}

export function blake3(data: Uint8Array): Uint8Array {
  return backend.hash(data);
}

/** BLAKE3 in key-derivation mode (context string + key material), 32-byte output. */
export function blake3DeriveKey(context: string, material: Uint8Array): Uint8Array {
  return backend.deriveKey(context, material);
}
