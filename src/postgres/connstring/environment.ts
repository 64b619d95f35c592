import { LIBPQ_KEYWORDS } from './libpq-keywords.js';
import type { ConnEntry } from './parse-url.js';

/**
 * The connection parameters the environment gives (34.15 Environment Variables): `PGHOST`,
 * `PGPORT`, `PGSSLMODE`, `PGOPTIONS`, … for every supported keyword that has one. An empty
 * variable counts as unset.
 */
export function environmentEntries(env: NodeJS.ProcessEnv): ConnEntry[] {
  const out: [string, string][] = [];
  for (const keyword of LIBPQ_KEYWORDS) {
    if (keyword.refusal !== undefined || keyword.env === undefined) continue;
    const value = env[keyword.env];
    if (value !== undefined && value !== '') out.push([keyword.name, value]);
  }
  return out;
}

/**
 * The session defaults libpq sends at startup from the environment, as server settings:
 * `PGDATESTYLE` (DateStyle), `PGTZ` (TimeZone) and `PGGEQO` (geqo). A value of `default`, in any
 * case, sends nothing, as in libpq.
 */
export function environmentSettings(env: NodeJS.ProcessEnv): [setting: string, value: string][] {
  const out: [string, string][] = [];
  for (const [variable, setting] of [['PGDATESTYLE', 'datestyle'], ['PGTZ', 'timezone'], ['PGGEQO', 'geqo']] as const) {
    const value = env[variable];
    if (value !== undefined && value.toLowerCase() !== 'default') out.push([setting, value]);
  }
  return out;
}
