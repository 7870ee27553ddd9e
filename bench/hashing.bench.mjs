#!/usr/bin/env node
// Content description throughput on a 256 MiB file streamed from disk through ContentDescriber (constant
// memory), beside `b3sum --num-threads 1` on the same file in the same run; then Ed25519 sign/verify ops/s for
// node:crypto against @noble/curves (why keys.ts uses node:crypto). Imports the built package: `npm run build` first.
// Options: SCP2P_BENCH_MIB (file size, default 256).
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrivateKey, sign as nodeSign } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { MIB, importDist, writePseudoRandomFile } from './lib/bench-common.mjs';

const p = await importDist('protocol/index.js');

const sizeMiB = Number(process.env.SCP2P_BENCH_MIB ?? 256);
const dir = mkdtempSync(join(tmpdir(), 'scp2p-bench-'));
const file = join(dir, 'content.bin');

async function describeFile() {
  const d = new p.ContentDescriber();
  const t0 = process.hrtime.bigint();
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * MIB })) d.update(chunk);
  const r = d.finish();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return { r, secs };
}

function b3sum() {
  const t0 = process.hrtime.bigint();
  const out = spawnSync('b3sum', ['--num-threads', '1', file], { encoding: 'utf8' });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (out.error || out.status !== 0) return null;
  return { hash: out.stdout.split(/\s+/)[0], secs };
}

function opsPerSec(f, minMs = 700) {
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs) {
    for (let i = 0; i < 50; i++) f();
    n += 50;
  }
  return Math.round((n * 1000) / (performance.now() - t0));
}

try {
  // Pseudo-random, incompressible-looking content written 8 MiB at a time (constant memory).
  writePseudoRandomFile(file, sizeMiB * MIB, 0x9e3779b9);
  // Warm the page cache and the WASM module once so both tools read from memory, then measure.
  await describeFile();
  const { r, secs } = await describeFile();
  const ours = sizeMiB / secs;
  console.log(`describeContent (ContentDescriber, streamed): ${sizeMiB} MiB in ${secs.toFixed(2)} s = ${ours.toFixed(0)} MiB/s ` +
    `(${r.chunkCount} chunks; content id + chunk hashes = two BLAKE3 passes)`);
  const b = b3sum();
  if (b === null) {
    console.log('b3sum missing: apt-get install b3sum');
  } else {
    const theirs = sizeMiB / b.secs;
    const same = b.hash === p.toHex(r.contentId);
    console.log(`b3sum --num-threads 1:                        ${sizeMiB} MiB in ${b.secs.toFixed(2)} s = ${theirs.toFixed(0)} MiB/s (content id ${same ? 'matches' : 'DIFFERS'})`);
    console.log(`ratio describeContent / b3sum: ${(ours / theirs).toFixed(3)} ` +
      `(per BLAKE3 pass: ${((2 * ours) / theirs).toFixed(3)})`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// Ed25519: node:crypto (OpenSSL) vs @noble/curves, 200-byte messages (a handshake hello's signable size).
const seed = new Uint8Array(32).fill(7);
const msg = new Uint8Array(200).fill(1);
const pub = p.keypairFromSeed(seed).publicKey;
const sig = p.ed25519Sign(seed, msg);
const signer = p.ed25519Signer(seed);
const pkcs8 = Buffer.from('302e020100300506032b657004220420', 'hex');
const rows = [
  ['node:crypto sign, PKCS8 import every call', opsPerSec(() => nodeSign(null, msg, createPrivateKey({ key: Buffer.concat([pkcs8, seed]), format: 'der', type: 'pkcs8' })))],
  ['node:crypto ed25519Sign (KeyObject cache)', opsPerSec(() => p.ed25519Sign(seed, msg))],
  ['node:crypto ed25519Signer', opsPerSec(() => signer(msg))],
  ['@noble/curves sign', opsPerSec(() => ed25519.sign(msg, seed))],
  ['node:crypto ed25519Verify', opsPerSec(() => p.ed25519Verify(pub, msg, sig))],
  ['@noble/curves verify', opsPerSec(() => ed25519.verify(sig, msg, pub))],
];
for (const [name, ops] of rows) console.log(`${name.padEnd(42)} ${String(ops).padStart(8)} ops/s`);
