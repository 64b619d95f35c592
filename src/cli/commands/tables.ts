import { ConfigurationError } from '../../errors/configuration-error.js';
import { postgresOnly, type CliContext } from '../cli-session.js';
import type { RowFormat } from '../row-format.js';
import { queryCommand } from './query.js';

/**
 * `rxpg tables CONN --biggest N`: the largest tables (with their indexes and TOAST), as
 * PgManager's pgtoolkit `bigtables` listed them: schema, name, total and table size, and the
 * planner's row estimate.
 */
export async function tablesCommand(context: CliContext, biggest: string, format: RowFormat): Promise<void> {
  postgresOnly(context, 'tables');
  const count = Number(biggest);
  if (!Number.isInteger(count) || count < 1) throw new ConfigurationError(`--biggest takes a whole number of tables ≥ 1, got '${biggest}'.`);
  const sql =
    'SELECT n.nspname AS schema, c.relname AS table, pg_size_pretty(pg_total_relation_size(c.oid)) AS total_size, ' +
    'pg_size_pretty(pg_relation_size(c.oid)) AS table_size, pg_total_relation_size(c.oid) AS total_bytes, ' +
    'greatest(c.reltuples, 0)::bigint AS estimated_rows ' +
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'm') " +
    "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast' " +
    'ORDER BY pg_total_relation_size(c.oid) DESC, n.nspname, c.relname LIMIT $1::int';
  await queryCommand(context, sql, [String(count)], format);
}
