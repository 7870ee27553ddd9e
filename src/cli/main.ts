#!/usr/bin/env node
/**
 * The `scp2p` command. Commander parses; each command lives in its own module under src/cli/commands/.
 * Errors print one line and exit non-zero; `--json` gives machine output.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { registerCommands } from './commands/index.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command();
program
  .name('scp2p')
  .description('SCP2P node: publish signed catalogs, subscribe to shares, search them locally, download verified chunks')
  .version(pkg.version, '-V, --version')
  .showHelpAfterError('(run scp2p --help for usage)');

registerCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = err as { code?: string; message?: string };
  process.stderr.write(`scp2p: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}\n`);
  process.exitCode = 1;
});
