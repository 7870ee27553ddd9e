/**
 * `scp2p identity export|import`: back up and restore the node key and publisher keys of a data dir.
 * Works on a stopped node (the data dir is locked while a node runs). The bundle is encrypted with a backup
 * passphrase taken from --passphrase-env, SCP2P_BACKUP_PASSPHRASE, or a prompt on a terminal.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { ScpError } from '../../errors.js';
import { print } from '../output.js';
import { resolveDataDir } from '../settings.js';

interface IdentityFlags {
  dataDir?: string;
  out?: string;
  passphraseEnv?: string;
  keyPassphraseEnv?: string;
  json?: boolean;
}

async function promptHidden(question: string): Promise<string> {
  if (!process.stdin.isTTY) throw ScpError.badInput('no backup passphrase: set SCP2P_BACKUP_PASSPHRASE or pass --passphrase-env VAR');
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const out = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WriteStream };
  let asked = false;
  out._writeToOutput = (s: string) => {
    if (!asked) {
      out.output.write(s);
      asked = true;
    }
  };
  const answer = await new Promise<string>((resolve) => rl.question(question, resolve));
  rl.close();
  process.stderr.write('\n');
  return answer;
}

async function backupPassphrase(f: IdentityFlags): Promise<string> {
  const fromEnv = f.passphraseEnv ? process.env[f.passphraseEnv] : process.env.SCP2P_BACKUP_PASSPHRASE;
  if (fromEnv) return fromEnv;
  return promptHidden('backup passphrase: ');
}

export function registerIdentity(program: Command): void {
  const identity = program.command('identity').description('back up or restore the node and publisher keys (node must be stopped)');
  const common = (c: Command): Command =>
    c
      .option('-d, --data-dir <dir>', 'data directory (default $SCP2P_DATA_DIR or ~/.scp2p)')
      .option('--passphrase-env <var>', 'environment variable holding the backup passphrase (default SCP2P_BACKUP_PASSPHRASE)')
      .option('--key-passphrase-env <var>', 'environment variable holding the data dir key passphrase, if keys are encrypted at rest')
      .option('--json', 'machine-readable output');

  common(identity.command('export').description('write an encrypted key bundle').option('-o, --out <file>', 'write the bundle here (default: stdout)')).action(
    async (f: IdentityFlags) => {
      const dataDir = resolveDataDir(f.dataDir);
      const { exportIdentity } = await import('../../store/key-backup.js');
      const bundle = await exportIdentity({
        dataDir,
        keyPassphrase: f.keyPassphraseEnv ? process.env[f.keyPassphraseEnv] : process.env.SCP2P_KEY_PASSPHRASE,
        backupPassphrase: await backupPassphrase(f),
      });
      if (f.out) {
        writeFileSync(f.out, bundle, { mode: 0o600 });
        print(f, { exported: f.out }, () => `keys exported to ${f.out} (keep it and its passphrase safe)`);
      } else process.stdout.write(`${bundle}\n`);
    },
  );

  common(identity.command('import <file>').description('restore keys from a bundle into the data dir')).action(async (file: string, f: IdentityFlags) => {
    const dataDir = resolveDataDir(f.dataDir);
    let bundle: string;
    try {
      bundle = readFileSync(file, 'utf8');
    } catch (e) {
      throw ScpError.badInput(`cannot read ${file}: ${(e as Error).message}`);
    }
    const { importIdentity } = await import('../../store/key-backup.js');
    await importIdentity({
      dataDir,
      keyPassphrase: f.keyPassphraseEnv ? process.env[f.keyPassphraseEnv] : process.env.SCP2P_KEY_PASSPHRASE,
      backupPassphrase: await backupPassphrase(f),
      bundle,
    });
    print(f, { imported: file, dataDir }, () => `keys imported into ${dataDir}`);
  });
}
