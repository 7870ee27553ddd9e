import { useState } from 'preact/hooks';
import { call } from '../api.js';
import { ErrorLine, Hex, Notice, Section, Unavailable } from '../components.js';
import { short } from '../format.js';
import { useAction, useLoad } from '../hooks.js';
import type { PageProps } from '../main.js';

interface Community {
  communityId: string;
  name?: string | null;
  sharePubkey?: string;
}
interface BrowsedShare {
  shareId: string;
  title?: string | null;
}

export function Communities({ has }: PageProps) {
  if (!has('listCommunities')) return <Unavailable what="Communities" />;
  return <CommunitiesPage has={has} />;
}

function CommunitiesPage({ has }: { has: (m: string) => boolean }) {
  const list = useLoad(() => call<Community[]>('listCommunities'), []);
  const [name, setName] = useState('');
  const [joinId, setJoinId] = useState('');
  const [joinKey, setJoinKey] = useState('');
  const [open, setOpen] = useState<string>();
  const create = useAction();
  const join = useAction();
  return (
    <div class="stack">
      <Section title="My communities">
        <ErrorLine error={list.error} />
        {list.data?.length === 0 && <p class="muted">Not in any community yet.</p>}
        <ul class="plain">
          {list.data?.map((c) => (
            <li key={c.communityId} class="row">
              <strong>{c.name ?? short(c.communityId)}</strong> <code>{short(c.communityId)}</code>
              {has('browseCommunityShares') && (
                <button type="button" onClick={() => setOpen(c.communityId)} aria-pressed={open === c.communityId}>
                  Browse
                </button>
              )}
              {has('leaveCommunity') && (
                <button type="button" class="secondary" onClick={async () => (await call('leaveCommunity', c.communityId), list.reload())}>
                  Leave
                </button>
              )}
            </li>
          ))}
        </ul>
      </Section>
      {open && <CommunityShares id={open} />}
      {has('createCommunity') && (
        <Section title="Create a community">
          <form
            class="form"
            onSubmit={async (ev) => {
              ev.preventDefault();
              if (await create.run(() => call<Community>('createCommunity', name.trim()), (c) => `created ${c.communityId}`)) list.reload();
            }}
          >
            <label for="comm-name">Name</label>
            <input id="comm-name" value={name} onInput={(e) => setName(e.currentTarget.value)} required />
            <button type="submit" disabled={create.busy}>
              Create
            </button>
            <Notice message={create.message} />
          </form>
        </Section>
      )}
      {has('joinCommunity') && (
        <Section title="Join a community">
          <form
            class="form"
            onSubmit={async (ev) => {
              ev.preventDefault();
              if (await join.run(() => call('joinCommunity', joinId.trim(), joinKey.trim()), () => 'joined')) list.reload();
            }}
          >
            <label for="comm-id">Community id</label>
            <input id="comm-id" value={joinId} onInput={(e) => setJoinId(e.currentTarget.value)} required spellcheck={false} />
            <label for="comm-key">Community public key</label>
            <input id="comm-key" value={joinKey} onInput={(e) => setJoinKey(e.currentTarget.value)} required spellcheck={false} />
            <button type="submit" disabled={join.busy}>
              Join
            </button>
            <Notice message={join.message} />
          </form>
        </Section>
      )}
    </div>
  );
}

function CommunityShares({ id }: { id: string }) {
  const [cursor, setCursor] = useState<string | undefined>();
  const page = useLoad(() => call<{ shares: BrowsedShare[]; nextCursor: string | null }>('browseCommunityShares', id, { cursor, limit: 50 }), [id, cursor]);
  return (
    <Section title="Community shares">
      <p>
        Community <Hex value={id} />
      </p>
      <ErrorLine error={page.error} />
      <ul class="plain">
        {page.data?.shares.map((s) => (
          <li key={s.shareId} class="row">
            {s.title ?? '—'} <code>{short(s.shareId)}</code>
            <button type="button" onClick={() => call('subscribe', s.shareId)}>
              Subscribe
            </button>
          </li>
        ))}
      </ul>
      {page.data?.nextCursor && (
        <button type="button" onClick={() => setCursor(page.data!.nextCursor!)}>
          More
        </button>
      )}
    </Section>
  );
}
