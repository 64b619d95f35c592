import { ConfigurationError } from '../../errors/configuration-error.js';
import { postgresOnly, type CliContext } from '../cli-session.js';
import type { RowFormat } from '../row-format.js';
import { queryCommand } from './query.js';

/**
 * `rxpg activity CONN [--longer-than 5s]`: what the server is running now, longest first, as
 * PgManager's pgtoolkit `longqueries` showed it: every non-idle session but this one, or only
 * those whose statement has run longer than the given time.
 */
export async function activityCommand(context: CliContext, longerThan: string | undefined, format: RowFormat): Promise<void> {
  postgresOnly(context, 'activity');
  const seconds = longerThan === undefined ? 0 : parseSeconds(longerThan);
  const sql =
    "SELECT pid, usename AS user, datname AS database, application_name, client_addr, state, wait_event_type, wait_event, " +
    "round(extract(epoch FROM now() - query_start)::numeric, 1) AS seconds, left(regexp_replace(query, '\\s+', ' ', 'g'), 200) AS query " +
    "FROM pg_stat_activity WHERE state <> 'idle' AND pid <> pg_backend_pid() AND backend_type = 'client backend' " +
    'AND now() - query_start >= make_interval(secs => $1::float8) ORDER BY query_start';
  await queryCommand(context, sql, [String(seconds)], format);
}

/** `5s`, `1.5s`, `250ms`, `2m`, `1h`, or a bare number of seconds. */
export function parseSeconds(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$/i.exec(text);
  if (match === null) throw new ConfigurationError(`--longer-than takes a duration such as 5s, 250ms, 2m or 1h, got '${text}'.`);
  const value = Number(match[1]);
  const unit = (match[2] ?? 's').toLowerCase();
  return unit === 'ms' ? value / 1000 : unit === 's' ? value : unit === 'h' ? value * 3600 : value * 60;
}
