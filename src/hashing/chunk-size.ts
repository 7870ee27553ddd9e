/** SCP2P chunks are 256 KiB (PROTOCOL.md); hashing and transfers are sized by it. */
export const CHUNK_SIZE = 256 * 1024;
export const HASH_SIZE = 32;
