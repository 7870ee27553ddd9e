/**
 * `scp2p communities create|join|leave|list|members|shares|token` and `scp2p browse-public`: communities and public
 * browsing (docs/COMMUNITIES.md). Each talks to the running node of its data dir through the control endpoint.
 */
import type { Command } from 'commander';
import { connectControl } from '../../control/client.js';
import { ScpError } from '../../errors.js';
import { print } from '../output.js';
import { resolveDataDir } from '../settings.js';
import { withCommon } from './node-info.js';

interface Common {
  dataDir?: string;
  json?: boolean;
}

interface ShareRow {
  shareId: string;
  sharePubkey: string;
  title: string | null;
  latestSeq: string;
  peer: string | null;
}

interface CommunityRow {
  communityId: string;
  sharePubkey: string;
  name: string | null;
  owner: boolean;
  strict: boolean;
  hasToken: boolean;
}

interface Participant {
  nodePubkey: string | null;
  addresses: string[];
  joined: boolean | null;
  name: string | null;
  source: string;
}

function hex64(v: string, what: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(v)) throw ScpError.badInput(`${what} must be 64 hex characters`);
  return v.toLowerCase();
}

const shareLine = (s: ShareRow): string => `${s.shareId}  seq ${s.latestSeq}  ${s.title ?? '(untitled)'}${s.peer ? `  from ${s.peer}` : ''}\n    subscribe: scp2p subscribe ${s.shareId} (pubkey ${s.sharePubkey})`;

export function registerCommunities(program: Command): void {
  const group = program.command('communities').description('create, join and browse communities (public shares of their members)');

  withCommon(group.command('create <name>').description('create a community (a new key pair) and join it')).action(async (name: string, o: Common) => {
    const c = await connectControl(resolveDataDir(o.dataDir));
    const r = await c.call<{ communityId: string; sharePubkey: string }>('createCommunity', [name]);
    print(o, r, () => [`community ${name} created and joined`, `id:     ${r.communityId}`, `pubkey: ${r.sharePubkey}`, `invite: scp2p communities join ${r.communityId} ${r.sharePubkey}`].join('\n'));
  });

  withCommon(
    group
      .command('join <community-id> <share-pubkey>')
      .description('join a community with its id and share pubkey')
      .option('--name <name>', 'a local label')
      .option('--token <hex>', 'a membership token issued by the community owner')
      .option('--strict', 'answer only requesters holding a valid membership token'),
  ).action(async (id: string, pub: string, o: Common & { name?: string; token?: string; strict?: boolean }) => {
    const opts: Record<string, unknown> = {};
    if (o.name !== undefined) opts.name = o.name;
    if (o.token !== undefined) opts.membershipToken = o.token;
    if (o.strict) opts.strict = true;
    const c = await connectControl(resolveDataDir(o.dataDir));
    const r = await c.call<CommunityRow>('joinCommunity', [hex64(id, 'community id'), hex64(pub, 'share pubkey'), opts]);
    print(o, r, () => `joined ${r.name ?? r.communityId}${r.strict ? ' (strict)' : ''}`);
  });

  withCommon(group.command('leave <community-id>').description('leave a community')).action(async (id: string, o: Common) => {
    const c = await connectControl(resolveDataDir(o.dataDir));
    const r = await c.call<{ left: boolean }>('leaveCommunity', [hex64(id, 'community id')]);
    print(o, r, () => (r.left ? 'left the community' : 'not a member of that community'));
  });

  withCommon(group.command('list').description('communities this node joined')).action(async (o: Common) => {
    const c = await connectControl(resolveDataDir(o.dataDir));
    const r = await c.call<CommunityRow[]>('listCommunities');
    print(o, r, () =>
      r.length === 0
        ? 'no communities joined (scp2p communities create <name>, or join <id> <pubkey>)'
        : r.map((x) => `${x.communityId}  ${x.name ?? ''}${x.owner ? '  owner' : ''}${x.strict ? '  strict' : ''}${x.hasToken ? '  token' : ''}\n    pubkey ${x.sharePubkey}`).join('\n'),
    );
  });

  withCommon(group.command('members <community-id>').description('participants of a joined community')).action(async (id: string, o: Common) => {
    const c = await connectControl(resolveDataDir(o.dataDir));
    const r = await c.call<Participant[]>('listCommunityParticipants', [hex64(id, 'community id')]);
    print(o, r, () =>
      r.length === 0
        ? 'no other participants found yet'
        : r.map((p) => `${(p.nodePubkey ?? '?').slice(0, 16)}  ${p.joined === true ? 'joined' : p.joined === false ? 'not joined' : 'unreachable'}  ${p.source}  ${p.addresses.join(' ')}`).join('\n'),
    );
  });

  withCommon(
    group
      .command('shares <community-id>')
      .description("public shares of a community's members")
      .option('--limit <n>', 'shares per page', '50')
      .option('--cursor <cursor>', 'continue from a previous page'),
  ).action(async (id: string, o: Common & { limit: string; cursor?: string }) => {
    const limit = Number(o.limit);
    if (!Number.isInteger(limit) || limit < 1) throw ScpError.badInput('--limit must be a positive integer');
    const c = await connectControl(resolveDataDir(o.dataDir));
    const r = await c.call<{ shares: ShareRow[]; nextCursor: string | null }>('browseCommunityShares', [hex64(id, 'community id'), { limit, cursor: o.cursor ?? null }]);
    print(o, r, () =>
      [r.shares.length === 0 ? 'no public shares in this community (yet)' : r.shares.map(shareLine).join('\n'), ...(r.nextCursor ? [`more: --cursor ${r.nextCursor}`] : [])].join('\n'),
    );
  });

  withCommon(
    group.command('token <community-id> <member-node-pubkey>').description('issue a membership token (owner only)').option('--ttl <secs>', 'validity in seconds'),
  ).action(async (id: string, member: string, o: Common & { ttl?: string }) => {
    const c = await connectControl(resolveDataDir(o.dataDir));
    const opts = o.ttl !== undefined ? { ttlSecs: Number(o.ttl) } : {};
    const r = await c.call<{ token: string; expiresAt: string }>('issueMembershipToken', [hex64(id, 'community id'), hex64(member, 'member node pubkey'), opts]);
    print(o, r, () => r.token);
  });

  withCommon(program.command('browse-public').description('public shares of connected and LAN peers')).action(async (o: Common) => {
    const c = await connectControl(resolveDataDir(o.dataDir));
    const r = await c.call<ShareRow[]>('listPublicSharesFromPeers');
    print(o, r, () => (r.length === 0 ? 'no public shares on reachable peers' : r.map(shareLine).join('\n')));
  });
}
