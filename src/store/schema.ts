import type { RootDatabase } from 'lmdb';
import { ScpError } from '../errors.js';
import { subDatabase } from './environment.js';

/** The schema version this code writes. Bump it and append a migration when a stored layout changes. */
export const SCHEMA_VERSION = 1;

export interface Migration {
  /** The version this migration produces. */
  to: number;
  describe: string;
  run(env: RootDatabase): void;
}

/** In order; each runs inside one write transaction with the version bump, so a crash leaves no half-migration. */
export const MIGRATIONS: readonly Migration[] = [
  {
    to: 1,
    describe: 'initial layout: meta/schema, persistence/identity, persistence/publishers, index/subscriptions',
    run: () => {},
  },
];

export function readSchemaVersion(env: RootDatabase): number {
  return (subDatabase<number>(env, 'meta', 'schema').get('version') as number | undefined) ?? 0;
}

/** Brings the store up to SCHEMA_VERSION; refuses a store written by newer code. Returns the version. */
export function migrate(env: RootDatabase, migrations: readonly Migration[] = MIGRATIONS, target = SCHEMA_VERSION): number {
  const meta = subDatabase<number>(env, 'meta', 'schema');
  const current = readSchemaVersion(env);
  if (current > target) {
    throw new ScpError(
      'CONFLICT',
      `the data directory has schema version ${current} but this scp2p understands up to ${target}; upgrade scp2p`,
      { current, target },
    );
  }
  for (const m of migrations) {
    if (m.to <= current || m.to > target) continue;
    env.transactionSync(() => {
      m.run(env);
      meta.putSync('version', m.to);
    });
  }
  return readSchemaVersion(env);
}
