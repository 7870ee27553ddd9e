/**
 * BlocklistRules (PROTOCOL.md §6.9): the content of a manifest item named exactly "blocklist" — share ids and
 * content ids a subscriber drops from search results.
 */
import { CborWriter, decodeCbor, type CborValue } from './cbor.js';
import { asMap, b32, list, req } from './cbor-fields.js';
import { DECODE_MAX_ARRAY } from './limits.js';
import { writeId } from './signables.js';

/** The item name that marks a blocklist inside a blocklist share's manifest. */
export const BLOCKLIST_ITEM_NAME = 'blocklist';

export interface BlocklistRules {
  blockedShareIds: Uint8Array[];
  blockedContentIds: Uint8Array[];
}

export function encodeBlocklistRules(r: BlocklistRules): Uint8Array {
  const w = new CborWriter(64 + (r.blockedShareIds.length + r.blockedContentIds.length) * 48);
  w.map(2);
  w.text('blocked_share_ids').array(r.blockedShareIds.length);
  r.blockedShareIds.forEach((id, i) => writeId(w, id, `blocklist.blockedShareIds[${i}]`));
  w.text('blocked_content_ids').array(r.blockedContentIds.length);
  r.blockedContentIds.forEach((id, i) => writeId(w, id, `blocklist.blockedContentIds[${i}]`));
  return w.finish();
}

export function decodeBlocklistRulesValue(v: CborValue, where = 'BlocklistRules'): BlocklistRules {
  const m = asMap(v, where);
  return {
    blockedShareIds: list(req(m, 'blocked_share_ids', where), `${where}.blocked_share_ids`, DECODE_MAX_ARRAY, b32),
    blockedContentIds: list(req(m, 'blocked_content_ids', where), `${where}.blocked_content_ids`, DECODE_MAX_ARRAY, b32),
  };
}

export function decodeBlocklistRules(bytes: Uint8Array): BlocklistRules {
  return decodeBlocklistRulesValue(decodeCbor(bytes, 'BlocklistRules'));
}
