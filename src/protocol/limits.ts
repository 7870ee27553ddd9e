/**
 * Every maximum size, count and protocol constant (PROTOCOL.md §14), one flat file of named constants so a
 * reviewer can check them against the reference in one place. Two engineers add to it: keep each section
 * to its owner and only append.
 */

// ---------------------------------------------------------------------------------------------------------
// signed records, ids, keys, handshake, content (owner: signed-records)

/** HandshakeHello.protocol_version; the reference requires an exact match. */
export const PROTOCOL_VERSION = 1;
/** Largest handshake frame body either side reads or writes. */
export const HANDSHAKE_MAX_BYTES = 65_536;
/** |now − timestamp| allowed on every received hello, both directions. */
export const HANDSHAKE_MAX_CLOCK_SKEW_SECS = 300;
/** How long a ClientHello nonce is remembered by the replay guard (2 × skew). */
export const NONCE_REPLAY_MEMORY_SECS = 600;
/** 4-byte big-endian length prefix on every frame. */
export const FRAME_LENGTH_PREFIX_BYTES = 4;

export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SEED_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;
export const X25519_KEY_BYTES = 32;
export const NONCE_BYTES = 32;
export const ID_BYTES = 32;
export const NODE_ID_BYTES = 20;

/** Fixed content chunk size; the last chunk of a file is shorter, an empty file has none. */
export const CHUNK_SIZE = 262_144;
/** check_limits: items per manifest. */
export const MAX_MANIFEST_ITEMS = 3_000;
/** check_limits: sum of chunk_count over a manifest's items. */
export const MAX_MANIFEST_CHUNKS = 100_000;
/** Normalised relative item path (publish side). */
export const MAX_ITEM_PATH_BYTES = 1_024;

/**
 * Decoder bounds. The reference's serde decoders have no explicit caps beyond the frame size, so these are
 * generous ceilings chosen so that no honest record is refused while no allocation grows with an unchecked
 * length: they sit far above check_limits and the 2 MiB envelope.
 */
export const DECODE_MAX_ARRAY = 100_000;
export const DECODE_MAX_TEXT_BYTES = 65_536;
/** `signature`/`sig` fields are Vec<u8> in the reference (any length decodes; verification wants 64). */
export const DECODE_MAX_SIGNATURE_BYTES = 1_024;
/** A DHT value (manifest, head, announcement, members) never exceeds this in the reference's store. */
export const DHT_MAX_VALUE_BYTES = 65_536;

/** Relay announcements (§6.7). */
export const RELAY_ANNOUNCEMENT_MAX_TTL_SECS = 21_600;
export const RENDEZVOUS_BUCKET_SECS = 3_600;
export const RENDEZVOUS_SLOTS_PER_BUCKET = 16;
export const RENDEZVOUS_SLOTS_PER_RELAY = 2;
export const RELAY_DEFAULT_MAX_TUNNELS = 64;

/** Passphrase protection of secrets at rest (§12). */
export const PBKDF2_ITERATIONS = 600_000;
export const PBKDF2_SALT_BYTES = 16;
export const SECRET_KEY_BYTES = 32;
export const XCHACHA_NONCE_BYTES = 24;
export const AEAD_TAG_BYTES = 16;

// end of signed-records section

// ---------------------------------------------------------------------------------------------------------
// wire messages: envelope, frames, message payloads (owner: wire)

/** Largest envelope frame body (`MAX_ENVELOPE_BYTES`); checked on the length prefix before the body is read. */
export const MAX_ENVELOPE_FRAME_BYTES = 2_097_152;
/** Largest `Envelope.payload` after decoding (`MAX_ENVELOPE_PAYLOAD_BYTES`). */
export const MAX_ENVELOPE_PAYLOAD_BYTES = 1_048_576;
/** PEX_OFFER peers; the reference server answers with at most min(max_peers, 64). */
export const MAX_PEX_PEERS = 64;
/** Peer lists in FIND_NODE / FIND_VALUE answers (the reference sends ≤ K = 20; generous ceiling). */
export const MAX_DHT_PEERS = 256;
/** `content:prov:` providers; the record must fit a 64 KiB DHT value (~46 B per PeerAddr at least). */
export const MAX_PROVIDERS = 2_048;
/** CHUNK_HASH_LIST hashes; equals the manifest-wide chunk limit. */
export const MAX_CHUNK_HASHES = 100_000;
/** CHUNK_DATA bytes: one chunk is at most CHUNK_SIZE (262,144). */
export const MAX_CHUNK_DATA_BYTES = 262_144;
/** PUBLIC_SHARE_LIST / COMMUNITY_PUBLIC_SHARE_LIST entries (max_entries is a u16). */
export const MAX_PUBLIC_SHARES = 65_535;
/** RELAY_LIST_RESPONSE announcements (max_count is a u16). */
export const MAX_RELAY_ANNOUNCEMENTS = 65_535;
/** A CommunityMembershipToken's CBOR is ~250 bytes; proofs are bounded well above that. */
export const MAX_MEMBERSHIP_PROOF_BYTES = 4_096;
/** Text fields in public-share summaries and community status (title, description, name). */
export const MAX_WIRE_TEXT_BYTES = 65_536;
/** The reference's LAN discovery receive buffer; a longer datagram is truncated and undecodable there. */
export const LAN_MAX_PACKET_BYTES = 1_024;
/** UDP port and broadcast interval of LAN discovery (desktop app). */
export const LAN_DISCOVERY_PORT = 46_123;
export const LAN_DISCOVERY_INTERVAL_SECS = 3;
/** DHT_TTL as written by the integer-keyed encoder: the reference casts u64 to i64, so larger values go negative. */
export const MAX_WIRE_TTL_SECS = 0x7fff_ffff_ffff_ffffn;
/** Rate-limit window and per-window limits per remote identity (§14). */
export const RATE_LIMIT_WINDOW_SECS = 60;
export const RATE_LIMIT_TOTAL = 1_200;
export const RATE_LIMIT_DHT = 600;
export const RATE_LIMIT_FETCH = 240;
export const RATE_LIMIT_RELAY = 180;
export const RATE_LIMIT_CHUNK = 600;

// end of wire section
