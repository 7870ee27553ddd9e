import { describe, expect, it } from 'vitest';
import { ScpError } from '../src/errors.js';
import { forwardLimits, mergeLimits, UNLIMITED } from '../src/limits.js';

describe('limits', () => {
  it('merges partial updates, accepts bigint and null, rejects junk', () => {
    const a = mergeLimits(UNLIMITED, { maxDownloadBps: 1024, maxConnections: 50n });
    expect(a.maxDownloadBps).toBe(1024);
    expect(a.maxConnections).toBe(50);
    expect(a.maxUploadBps).toBeNull();
    const b = mergeLimits(a, { maxDownloadBps: null });
    expect(b.maxDownloadBps).toBeNull();
    expect(b.maxConnections).toBe(50);
    expect(mergeLimits(a, undefined)).toBe(a);
    for (const bad of [{ maxDownloadBps: -1 }, { maxDownloadBps: 1.5 }, { nope: 1 }, [1], 'x']) {
      expect(() => mergeLimits(UNLIMITED, bad), JSON.stringify(bad)).toThrow(ScpError);
    }
  });

  it('reports which actors applied, do not support, or failed', async () => {
    const limits = mergeLimits(UNLIMITED, { maxUploadBps: 10 });
    const report = await forwardLimits(limits, async (actor) => {
      if (actor === 'session') return { applied: ['maxConnections'] };
      if (actor === 'fetcher') throw ScpError.badInput(`actor "fetcher" has no message "setLimits"`);
      throw ScpError.actorUnavailable('relay', 'it is restarting');
    });
    expect(report.limits).toBe(limits);
    expect(report.applied).toEqual([{ actor: 'session', keys: ['maxConnections'] }]);
    expect(report.unsupported).toEqual(['fetcher']);
    expect(report.failed).toEqual([expect.objectContaining({ actor: 'relay', code: 'ACTOR_UNAVAILABLE' })]);
  });
});
