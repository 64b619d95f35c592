import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigurationError } from '../errors/configuration-error.js';
import type { ConnOptions } from '../manager/conn-options.js';
import { didYouMean } from '../util/nearest-name.js';

/** Where a connection for the command line comes from, and which manager serves it. */
export interface CliConnection {
  readonly backend: 'postgres' | 'mysql';
  /** `createConn`'s options (never printed: they may hold a password). */
  readonly options: ConnOptions;
  /** What to call it in messages: the name, or `the URL` — never the URL itself. */
  readonly label: string;
}

/**
 * The connections file: `--config`, else `rxpg.json` in the working directory, else
 * `$XDG_CONFIG_HOME/rxpg/rxpg.json` (`~/.config/rxpg/rxpg.json`). Undefined when none exists.
 */
export function findConfigFile(given: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | undefined {
  if (given !== undefined) {
    const path = resolve(cwd, given);
    if (!existsSync(path)) throw new ConfigurationError(`The connections file ${path} does not exist.`);
    return path;
  }
  const candidates = [join(cwd, 'rxpg.json'), join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'rxpg', 'rxpg.json')];
  return candidates.find((path) => existsSync(path));
}

/** The named configs of a connections file: `{ "connections": { "name": { …createConn options… } | "url" } }`. */
export function readConfigFile(path: string): Record<string, ConnOptions> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigurationError(`The connections file ${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const connections = (parsed as { connections?: unknown } | null)?.connections;
  if (typeof connections !== 'object' || connections === null || Array.isArray(connections)) {
    throw new ConfigurationError(`The connections file ${path} must hold { "connections": { "name": { …createConn options… } } }.`);
  }
  const configs: Record<string, ConnOptions> = {};
  for (const [name, entry] of Object.entries(connections)) {
    if (typeof entry === 'string') configs[name] = { connectionString: entry };
    else if (typeof entry === 'object' && entry !== null && !Array.isArray(entry)) configs[name] = entry as ConnOptions;
    else throw new ConfigurationError(`Connection '${name}' in ${path} must be a URL or an object of createConn options.`);
  }
  return configs;
}

/** A URL (`postgres://…`, `mysql://…`) or a libpq keyword string (`host=… dbname=…`). */
function isConnectionString(text: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text) || /^\s*\w+\s*=/.test(text);
}

/**
 * What CONN (or `--url`) names: a connection of the file; a URL or keyword string given
 * directly; or `env` for libpq's environment (`PGHOST`, `PGDATABASE`, `PGSERVICE`, …).
 * `mysql://` and `mariadb://` URLs, and file entries whose URL is one, go to MyManager.
 */
export function resolveCliConnection(conn: string, configFile: string | undefined): CliConnection {
  const configs = configFile === undefined ? {} : readConfigFile(configFile);
  const named = Object.hasOwn(configs, conn) ? configs[conn] : undefined;
  if (named !== undefined) return { backend: backendOf(named.connectionString), options: { ...named, name: 'cli' }, label: `'${conn}'` };
  if (isConnectionString(conn)) {
    const options: ConnOptions = conn.includes('://') ? { name: 'cli', connectionString: conn } : { name: 'cli', dsn: conn };
    return { backend: backendOf(conn), options, label: 'the URL given' };
  }
  if (conn === 'env') return { backend: 'postgres', options: { name: 'cli' }, label: "'env' (libpq's environment)" };
  const names = Object.keys(configs);
  throw new ConfigurationError(
    configFile === undefined
      ? `No connection named '${conn}': there is no rxpg.json here or in ~/.config/rxpg, and '${conn}' is not a URL. Give a URL, 'env' for PG* variables, or a name from a connections file.`
      : `No connection named '${conn}' in ${configFile}${didYouMean(conn, names)}; it has ${names.length === 0 ? 'none' : names.map((name) => `'${name}'`).join(', ')}.`,
  );
}

function backendOf(connectionString: string | undefined): 'postgres' | 'mysql' {
  return connectionString !== undefined && /^(mysql|mariadb):\/\//i.test(connectionString) ? 'mysql' : 'postgres';
}
