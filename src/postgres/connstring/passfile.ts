import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** What a password lookup matches against: one host of the list, and the resolved database and user. */
export interface PassfileTarget {
  /** `host`, else `hostaddr`, else `localhost` (libpq's rule). */
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
}

/** The password file to read: `passfile`, else `PGPASSFILE`, else `~/.pgpass`. */
export function passfilePath(given: string | undefined, env: NodeJS.ProcessEnv): string {
  return given || env.PGPASSFILE || join(env.HOME || homedir(), '.pgpass');
}

/**
 * The password file's lines, or undefined when it cannot be used. As libpq (34.16 The Password
 * File): a missing file is silently skipped; one that is not a plain file, or that group or
 * others may read, write or execute, is ignored with a warning (`process.emitWarning`, code
 * `RXPG_PASSFILE`), since others could have read or planted it.
 */
export function readPassfile(path: string): string[] | undefined {
  let mode: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) {
      process.emitWarning(`password file "${path}" is not a plain file; ignoring it`, { code: 'RXPG_PASSFILE' });
      return undefined;
    }
    mode = stat.mode;
  } catch {
    return undefined;
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    process.emitWarning(`password file "${path}" has group or world access; permissions should be u=rw (0600) or less. Ignoring it.`, {
      code: 'RXPG_PASSFILE',
    });
    return undefined;
  }
  try {
    return readFileSync(path, 'utf8').split('\n');
  } catch {
    return undefined;
  }
}

/**
 * The password of the first line that matches `hostname:port:database:username:password`,
 * each of the first four fields either `*` or equal, with `\:` and `\\` escapes; `#` starts a
 * comment line. The password field is de-escaped too.
 */
export function passwordFromLines(lines: readonly string[], target: PassfileTarget): string | undefined {
  const wanted = [target.host, String(target.port), target.database, target.user];
  for (const raw of lines) {
    const line = raw.replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) continue;
    let rest: string | undefined = line;
    for (const token of wanted) {
      rest = matchField(rest, token);
      if (rest === undefined) break;
    }
    if (rest !== undefined) return rest.replace(/\\(.)/g, '$1');
  }
  return undefined;
}

/** libpq's pwdfMatchesString: the rest of the line after a matching field, or undefined. */
function matchField(line: string, token: string): string | undefined {
  if (line.startsWith('*:')) return line.slice(2);
  let index = 0;
  let matched = 0;
  while (index < line.length) {
    let escaped = false;
    if (line[index] === '\\') {
      index++;
      escaped = true;
    }
    if (index >= line.length) return undefined;
    if (line[index] === ':' && !escaped && matched === token.length) return line.slice(index + 1);
    if (matched === token.length || line[index] !== token[matched]) return undefined;
    index++;
    matched++;
  }
  return undefined;
}
