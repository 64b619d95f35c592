import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from '../../errors/configuration-error.js';
import { checkKeyword } from './libpq-keywords.js';
import type { ConnEntry } from './parse-url.js';

/**
 * The parameters of a connection service (libpq 34.17 The Connection Service File): looked
 * up in `PGSERVICEFILE` (which must exist) or else `~/.pg_service.conf`, then in
 * `PGSYSCONFDIR/pg_service.conf`; the first file that defines the service is the only one read.
 * Within a service, the first value of a keyword wins, as in libpq. rxpg has no compiled-in
 * system configuration folder: without `PGSYSCONFDIR`, only the user's file is read.
 */
export function readService(name: string, env: NodeJS.ProcessEnv, conn: string): ConnEntry[] {
  const files: string[] = [];
  if (env.PGSERVICEFILE) {
    if (!existsSync(env.PGSERVICEFILE)) {
      throw new ConfigurationError(`Connection '${conn}': service file "${env.PGSERVICEFILE}" (PGSERVICEFILE) not found.`, { conn });
    }
    files.push(env.PGSERVICEFILE);
  } else {
    files.push(join(env.HOME || homedir(), '.pg_service.conf'));
  }
  if (env.PGSYSCONFDIR) files.push(join(env.PGSYSCONFDIR, 'pg_service.conf'));
  for (const file of files) {
    if (!existsSync(file)) continue;
    const found = serviceInFile(readFileSync(file, 'utf8'), name, file, conn);
    if (found !== undefined) return found;
  }
  throw new ConfigurationError(
    `Connection '${conn}': definition of service "${name}" not found (looked in ${files.join(' and ')}; ` +
      `set PGSERVICEFILE or PGSYSCONFDIR to where pg_service.conf is).`,
    { conn },
  );
}

function serviceInFile(text: string, name: string, file: string, conn: string): ConnEntry[] | undefined {
  let inService = false;
  let found = false;
  const entries = new Map<string, string>();
  const lines = text.split('\n');
  for (let number = 1; number <= lines.length; number++) {
    const line = lines[number - 1].replace(/^\s+/, '').replace(/\s+$/, '');
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      // A later section of the same name ends the search too: libpq stops at the first.
      if (found) break;
      inService = line.slice(1, line.indexOf(']') === -1 ? undefined : line.indexOf(']')) === name;
      found = inService;
      continue;
    }
    if (!inService) continue;
    const equals = line.indexOf('=');
    const where = `service file "${file}", line ${number}:`;
    if (equals === -1) {
      throw new ConfigurationError(`Connection '${conn}': syntax error in ${where} write key=value.`, { conn });
    }
    const key = line.slice(0, equals);
    const value = line.slice(equals + 1);
    if (key === 'service') {
      throw new ConfigurationError(`Connection '${conn}': nested service specifications not supported (${where} service=…).`, { conn });
    }
    const canonical = checkKeyword(key, value, `${where} keyword`, conn);
    if (!entries.has(canonical)) entries.set(canonical, value);
  }
  return found ? [...entries] : undefined;
}
