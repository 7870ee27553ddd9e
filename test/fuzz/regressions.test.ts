/**
 * Every input a fuzz campaign ever crashed on (test/fuzz/regressions/*.json, written by campaign.ts and
 * live.ts) replayed through the session's decode and dispatch: each must now end in a typed outcome.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/protocol/bytes.js';
import { encodeEnvelopeFrame } from '../../src/protocol/envelope.js';
import { pexRequestCodec } from '../../src/protocol/pex.js';
import { MessageType } from '../../src/protocol/registry.js';
import { loadRegressions, replayRegression, saveRegression } from './campaign.js';

const cases = loadRegressions();

describe('fuzz regressions', () => {
  it('the regression folder holds well-formed cases', () => {
    for (const { file, r } of cases) {
      expect(['connection', 'handshake'], file).toContain(r.kind);
      expect(typeof r.seed, file).toBe('number');
    }
  });

  it('a saved case round-trips: written, loaded and replayed to the outcome the session gives it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scp2p-regressions-'));
    try {
      // A PEX_REQUEST, then a frame whose envelope does not decode: answered, then a silent close.
      const pex = encodeEnvelopeFrame({ type: MessageType.PEX_REQUEST, reqId: 1, flags: 0, payload: pexRequestCodec.encode({ maxPeers: 4 }) });
      saveRegression({ kind: 'connection', seed: 1, error: 'synthetic', inputs: [toHex(pex), '00000003a1a1a1'], complete: true }, dir);
      const [loaded] = loadRegressions(dir);
      expect(loaded?.r.kind).toBe('connection');
      expect(await replayRegression(loaded!.r)).toBe('bad-envelope');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const { file, r } of cases) {
    it(`${file} (${r.error.slice(0, 60)}) replays to a typed outcome`, async () => {
      const outcome = await replayRegression(r);
      expect(typeof outcome).toBe('string');
    });
  }
});
