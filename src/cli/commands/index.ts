/** Registers every CLI command on the root program. */
import type { Command } from 'commander';

export function registerCommands(_program: Command): void {
  // Commands are added as the subsystems that back them land (start, id, peers, status, publish, ...).
}
