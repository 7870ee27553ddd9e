/**
 * Node settings for the CLI, from (highest first) flags, environment (SCP2P_*), `<dataDir>/config.json`,
 * then defaults. The config file is written once, atomically, when missing; after that it belongs to the
 * user and is never rewritten by the node.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeAtomic } from '../control/control-file.js';
import { ScpError } from '../errors.js';

export interface FileSettings {
  port?: number | null;
  quicPort?: number | null;
  host?: string;
  bootstrap?: string[];
  lan?: boolean;
  web?: number | null;
  webHost?: string;
  relay?: boolean;
  relays?: string[];
  firewalled?: boolean;
  transportPolicy?: 'prefer-tcp' | 'prefer-quic' | 'auto';
}

export const DEFAULT_SETTINGS: Required<Omit<FileSettings, 'web' | 'relays'>> & Pick<FileSettings, 'web' | 'relays'> = {
  port: 7001,
  quicPort: 7000,
  host: '0.0.0.0',
  bootstrap: [],
  lan: false,
  web: null,
  webHost: '127.0.0.1',
  relay: false,
  relays: [],
  firewalled: false,
  transportPolicy: 'prefer-tcp',
};

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.SCP2P_DATA_DIR ?? join(homedir(), '.scp2p'));
}

export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ? resolve(flag) : defaultDataDir(env);
}

function readFileSettings(dataDir: string): FileSettings {
  const p = join(dataDir, 'config.json');
  if (!existsSync(p)) return {};
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as FileSettings;
  } catch (e) {
    throw ScpError.badInput(`${p} is not valid JSON (${(e as Error).message}); fix or delete it`);
  }
}

function envSettings(env: NodeJS.ProcessEnv): FileSettings {
  const out: FileSettings = {};
  const num = (k: string): number | undefined => (env[k] !== undefined && env[k] !== '' ? Number(env[k]) : undefined);
  if (num('SCP2P_PORT') !== undefined) out.port = num('SCP2P_PORT')!;
  if (num('SCP2P_QUIC_PORT') !== undefined) out.quicPort = num('SCP2P_QUIC_PORT')!;
  if (env.SCP2P_HOST) out.host = env.SCP2P_HOST;
  if (env.SCP2P_BOOTSTRAP) out.bootstrap = env.SCP2P_BOOTSTRAP.split(',').map((s) => s.trim()).filter(Boolean);
  if (env.SCP2P_LAN) out.lan = env.SCP2P_LAN === '1' || env.SCP2P_LAN === 'true';
  if (num('SCP2P_WEB') !== undefined) out.web = num('SCP2P_WEB')!;
  return out;
}

/** Writes `<dataDir>/config.json` with the defaults if (and only if) it does not exist yet. */
export function ensureConfigFile(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true });
  const p = join(dataDir, 'config.json');
  if (!existsSync(p)) writeAtomic(p, `${JSON.stringify(DEFAULT_SETTINGS, null, 2)}\n`);
}

export function effectiveSettings(dataDir: string, flags: FileSettings, env: NodeJS.ProcessEnv = process.env): typeof DEFAULT_SETTINGS {
  const merged = { ...DEFAULT_SETTINGS, ...readFileSettings(dataDir), ...envSettings(env) };
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
  for (const k of ['port', 'quicPort', 'web'] as const) {
    const v = merged[k];
    if (v !== null && v !== undefined && (!Number.isInteger(v) || v < 0 || v > 65535)) {
      throw ScpError.badInput(`${k} must be a port number 0..65535 (0 = any free port), got ${v}`);
    }
  }
  return merged;
}
