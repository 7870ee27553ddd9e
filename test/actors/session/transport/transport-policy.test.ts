import { describe, expect, it } from 'vitest';
import { chooseTransports, ThroughputEstimator } from '../../../../src/actors/session/transport/transport-policy.js';

const MiB = 1024 * 1024;

describe('transport policy', () => {
  it('fixed preferences order both kinds; a single available kind is all there is', () => {
    const both = { available: ['tcp', 'quic'] as const, stats: {} };
    expect(chooseTransports('prefer-quic', both, 0)).toEqual(['quic', 'tcp']);
    expect(chooseTransports('prefer-tcp', both, 0)).toEqual(['tcp', 'quic']);
    expect(chooseTransports('prefer-quic', { available: ['tcp'], stats: {} }, 0)).toEqual(['tcp']);
    expect(chooseTransports('auto', { available: [], stats: {} }, 0)).toEqual([]);
  });

  it('auto explores TCP, then QUIC, then keeps the faster with hysteresis towards TCP', () => {
    const est = new ThroughputEstimator();
    const view = () => est.view('p', ['tcp', 'quic']);
    expect(chooseTransports('auto', view(), 0)).toEqual(['tcp', 'quic']);
    est.recordTransfer('p', 'tcp', 100 * MiB, 1000);
    expect(chooseTransports('auto', view(), 0)).toEqual(['quic', 'tcp']);
    est.recordTransfer('p', 'quic', 110 * MiB, 1000); // 10 % faster: not enough to switch
    expect(chooseTransports('auto', view(), 0)).toEqual(['tcp', 'quic']);
    for (let i = 0; i < 10; i++) est.recordTransfer('p', 'quic', 300 * MiB, 1000);
    expect(chooseTransports('auto', view(), 0)).toEqual(['quic', 'tcp']);
  });

  it('ignores small transfers; failures push a kind last for a growing while', () => {
    const est = new ThroughputEstimator();
    est.recordTransfer('p', 'tcp', 1000, 1);
    expect(est.view('p', ['tcp']).stats.tcp).toBeUndefined();
    est.recordFailure('p', 'quic', 1_000);
    expect(chooseTransports('prefer-quic', est.view('p', ['tcp', 'quic']), 2_000)).toEqual(['tcp', 'quic']);
    expect(chooseTransports('prefer-quic', est.view('p', ['tcp', 'quic']), 40_000)).toEqual(['quic', 'tcp']);
    est.recordFailure('p', 'quic', 40_000);
    expect(chooseTransports('prefer-quic', est.view('p', ['tcp', 'quic']), 80_000)).toEqual(['tcp', 'quic']); // 60 s now
    est.recordSuccess('p', 'quic');
    expect(chooseTransports('prefer-quic', est.view('p', ['tcp', 'quic']), 80_000)).toEqual(['quic', 'tcp']);
  });

  it('forgets the oldest peers beyond its bound', () => {
    const est = new ThroughputEstimator(0.3, 1, 2);
    est.recordTransfer('a', 'tcp', 10, 1);
    est.recordTransfer('b', 'tcp', 10, 1);
    est.recordTransfer('c', 'tcp', 10, 1);
    expect(est.view('a', ['tcp']).stats).toEqual({});
    expect(est.view('c', ['tcp']).stats.tcp?.samples).toBe(1);
  });
});
