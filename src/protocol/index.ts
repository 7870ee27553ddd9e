/**
 * `scp2p/protocol`: the pure, sans-I/O protocol core (API.md §2). Each section is owned by one engineer;
 * append to your own block only.
 */

// ---------------------------------------------------------------------------------------------------------
// foundation
export * from './bytes.js';
export * from './cbor.js';
export * from './hash.js';
export * from './peer-addr.js';

// ---------------------------------------------------------------------------------------------------------
// signed records
export { ScpError, ProtocolError, type ScpErrorCode } from '../errors.js';
export * from './limits.js';
export * from './keys.js';
export * from './ids.js';
export * from './dht-keys.js';
export * from './signables.js';
export * from './manifest.js';
export * from './share-head.js';
export * from './content.js';
export * from './relay-announcement.js';
export * from './community.js';
export * from './blocklist.js';
export * from './secrets.js';
export * from './handshake.js';
// end of signed records

// ---------------------------------------------------------------------------------------------------------
// wire messages
export type { MessageCodec, U64Input } from './message-codec.js';
export * from './envelope.js';
export * from './frame.js';
export * from './registry.js';
export * from './wire-codecs.js';
export * from './dht-messages.js';
export * from './pex.js';
export * from './transfer-messages.js';
export * from './relay-messages.js';
export * from './share-messages.js';
export * from './lan.js';
// end of wire messages

// ---------------------------------------------------------------------------------------------------------
// community extension (docs/COMMUNITIES.md)
export * from './community-ext.js';
// end community extension
