/** Registers every CLI command on the root program. */
import type { Command } from 'commander';
import { registerCatalog } from './catalog.js';
import { registerCommunities } from './communities.js';
import { registerIdentity } from './identity.js';
import { registerNodeInfo } from './node-info.js';
import { registerStart } from './start.js';
import { registerTransfer } from './transfer.js';

export function registerCommands(program: Command): void {
  registerStart(program);
  registerNodeInfo(program);
  registerCatalog(program);
  registerIdentity(program);
  registerTransfer(program);
  registerCommunities(program);
}
