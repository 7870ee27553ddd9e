import path from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { ActorName } from '../messages/actor-name.js';

/**
 * The node's one lmdb environment (dataDir/db). Every actor thread opens it with these same options (lmdb-js
 * shares the environment between threads of a process); each actor reads and writes only its own
 * sub-databases, named `<actor>/<name>`.
 */
export function openEnvironment(dataDir: string): RootDatabase {
  return open({ path: path.join(dataDir, 'db'), maxDbs: 128, compression: false });
}

export function subDatabase<V = unknown>(env: RootDatabase, actor: ActorName | 'meta', name: string): Database<V, string> {
  return env.openDB<V, string>({ name: `${actor}/${name}` });
}
