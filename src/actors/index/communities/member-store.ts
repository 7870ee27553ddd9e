/**
 * Persisted member directories (`index/community-members`): one entry per community and member,
 * key `<community id hex>:<member node key hex>`, value the record's CBOR (docs/COMMUNITIES.md §5.1) — the signed
 * bytes as received, so a reload re-verifies exactly what a peer sent. Writes are lmdb's batched async puts: a pull
 * of thousands of records must not wait on one fsync each; losing the last batch in a crash only costs a re-pull.
 */
import type { RootDatabase } from 'lmdb';
import { decodeMemberRecord, encodeMemberRecord, type CommunityMemberRecord } from '../../../protocol/community-ext.js';
import { subDatabase } from '../../../store/environment.js';
import type { DirectorySink } from './member-directory.js';

// ':' < ';' in byte order, so [`${id}:`, `${id};`) is exactly one community's range.
const rangeOf = (communityId: string): { start: string; end: string } => ({ start: `${communityId}:`, end: `${communityId};` });

export interface MemberStore {
  sink(communityId: string): DirectorySink;
  /** Every stored record of a community; entries that no longer decode are deleted. */
  load(communityId: string): CommunityMemberRecord[];
  /** Forgets a community's directory (we left it). */
  clear(communityId: string): Promise<void>;
}

export function openMemberStore(env: RootDatabase): MemberStore {
  const db = subDatabase<Uint8Array>(env, 'index', 'community-members');
  return {
    sink: (communityId) => ({
      put: (member, record) => void db.put(`${communityId}:${member}`, encodeMemberRecord(record)),
      drop: (member) => void db.remove(`${communityId}:${member}`),
    }),
    load(communityId) {
      const out: CommunityMemberRecord[] = [];
      for (const { key, value } of db.getRange(rangeOf(communityId))) {
        try {
          out.push(decodeMemberRecord(value));
        } catch {
          void db.remove(key);
        }
      }
      return out;
    },
    async clear(communityId) {
      await db.transaction(() => {
        for (const key of db.getKeys(rangeOf(communityId))) db.remove(key);
      });
    },
  };
}
