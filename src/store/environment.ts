import path from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { ActorName } from '../messages/actor-name.js';

/**
 * The node's one lmdb environment (dataDir/db). Every actor thread opens it with these same options (lmdb-js
 * shares the environment between threads of a process); each actor reads and writes only its own
 * sub-databases, named `<actor>/<name>`.
 */
export function openEnvironment(dataDir: string): RootDatabase {
  const env = open({ path: path.join(dataDir, 'db'), maxDbs: 128, compression: false });
  live.add(env);
  const close = env.close.bind(env);
  env.close = (...args: Parameters<RootDatabase['close']>) => {
    live.delete(env);
    return close(...args);
  };
  return env;
}

/** Environments open in this thread (the deterministic simulator waits for their commits before moving time). */
const live = new Set<RootDatabase>();

/**
 * Async writes (put, remove, batch, transaction, drop on a sub-database) whose promise has not settled yet, in
 * this thread. The simulator counts them as work in flight: lmdb commits on its own thread, which the event loop
 * does not list, and a continuation that writes again after a commit would otherwise run after virtual time moved.
 */
let writesInFlight = 0;

export function lmdbWritesInFlight(): number {
  return writesInFlight;
}

/** Resolves once every write queued so far in this thread's open environments is committed. */
export async function pendingCommits(): Promise<void> {
  await Promise.all([...live].map((env) => Promise.resolve(env.committed).catch(() => {})));
}

export function subDatabase<V = unknown>(env: RootDatabase, actor: ActorName | 'meta', name: string): Database<V, string> {
  const db = env.openDB<V, string>({ name: `${actor}/${name}` });
  guardWritesAfterClose(env, db, `${actor}/${name}`);
  return db;
}

/**
 * lmdb-js queues a sub-database's async write for the next turn even when its environment is closed, and that
 * turn then throws "The environment is already closed" where nobody can catch it: the soak saw it kill a
 * process hosting inline nodes (a download's bookkeeping write landing after its node stopped). Writes after
 * close fail here instead, as a rejected promise (already marked handled, so a fire-and-forget write is dropped
 * quietly) or, for the sync forms, a throw.
 */
function guardWritesAfterClose(env: RootDatabase, db: Database<unknown, string>, what: string): void {
  const closed = (): boolean => (env as unknown as { status?: string }).status !== 'open';
  const err = (): Error => new Error(`lmdb sub-database ${what}: the environment is closed`);
  const target = db as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const m of ['put', 'remove', 'batch', 'transaction', 'drop']) {
    const orig = target[m];
    if (typeof orig !== 'function') continue;
    target[m] = (...args: unknown[]) => {
      if (!closed()) return counted(orig.apply(db, args));
      const p = Promise.reject(err());
      p.catch(() => {});
      return p;
    };
  }
  for (const m of ['putSync', 'removeSync', 'transactionSync']) {
    const orig = target[m];
    if (typeof orig !== 'function') continue;
    target[m] = (...args: unknown[]) => {
      if (closed()) throw err();
      return orig.apply(db, args);
    };
  }
}

/**
 * The write's promise, followed: the count drops when it settles. The caller gets a promise that settles the
 * same way, so a rejection nobody handles is still reported as before (the original is handled here).
 */
function counted(out: unknown): unknown {
  if (!out || typeof (out as PromiseLike<unknown>).then !== 'function') return out;
  writesInFlight++;
  return (out as PromiseLike<unknown>).then(
    (v) => {
      writesInFlight--;
      return v;
    },
    (err: unknown) => {
      writesInFlight--;
      throw err;
    },
  );
}
