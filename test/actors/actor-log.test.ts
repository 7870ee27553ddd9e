import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createActorLog, type ActorLogRecord } from '../../src/actors/runtime/actor-log.js';
import { createLogger, writeActorLog } from '../../src/log.js';
import { ScpError } from '../../src/errors.js';

describe('actor logs (ctx.log → control port → the node logger)', () => {
  it('drops lines below the level in the actor, flattens errors, and writes the rest through the node logger with actor fields', () => {
    const posted: ActorLogRecord[] = [];
    const log = createActorLog('info', (r) => posted.push(structuredClone(r)), { incarnation: 3 });
    log.debug({ noisy: true }, 'not posted');
    log.trace('not posted either');
    log.info({ n: 1, big: 5n, fn: () => 1 }, 'limits applied');
    log.child({ download: 'd1' }).warn({ err: ScpError.limit('too many') }, 'refused');
    expect(log.isLevelEnabled('debug')).toBe(false);
    expect(log.isLevelEnabled('error')).toBe(true);
    expect(posted.map((r) => [r.level, r.msg])).toEqual([
      ['info', 'limits applied'],
      ['warn', 'refused'],
    ]);
    expect(posted[0]!.obj).toEqual({ n: 1, big: 5n }); // the function was dropped, the bigint kept
    expect(posted[1]!.bindings).toEqual({ incarnation: 3, download: 'd1' });
    expect(posted[1]!.obj.err).toMatchObject({ type: 'ScpError', message: 'too many', code: 'LIMIT' });

    const lines: Record<string, unknown>[] = [];
    const root = createLogger({
      level: 'info',
      destination: new Writable({
        write(chunk, _e, cb) {
          for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
          cb();
        },
      }),
    }).child({ nodeId: 'abcd' });
    for (const r of posted) writeActorLog(root, 'fetcher', r);
    expect(lines).toEqual([
      expect.objectContaining({ level: 'info', nodeId: 'abcd', actor: 'fetcher', incarnation: 3, n: 1, big: 5, msg: 'limits applied' }),
      expect.objectContaining({ level: 'warn', actor: 'fetcher', download: 'd1', msg: 'refused', err: expect.objectContaining({ code: 'LIMIT' }) }),
    ]);
  });

  it('a silent actor logger posts nothing at all', () => {
    let n = 0;
    const log = createActorLog('silent', () => n++);
    log.fatal('x');
    log.error({ a: 1 }, 'y');
    expect(n).toBe(0);
  });
});
