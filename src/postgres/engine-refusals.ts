import { EngineUnsupportedError } from '../errors/engine-unsupported-error.js';
import { neonDirectHost, type Engine } from './engine.js';

/**
 * Why a listen session may not LISTEN on `engine`, before anything is sent, or undefined.
 *
 * - CockroachDB has no LISTEN/NOTIFY: the request is open (cockroachdb/cockroach#41522, the
 *   implementing pull requests #127820 and #128270 unmerged), and psycopg's CockroachDB notes say
 *   "LISTEN and NOTIFY are not supported. However the CHANGEFEED command … can provide push
 *   notifications" (https://www.psycopg.org/psycopg3/docs/api/crdb.html). The server answers
 *   LISTEN with an error (an "unimplemented" one, SQLSTATE 0A000 as CockroachDB reports
 *   unimplemented syntax; not checked against a server here); refusing first names the engine and
 *   the way out.
 * - Neon's pooled endpoint is PgBouncer in transaction mode, and Neon lists LISTEN/NOTIFY among
 *   what that mode breaks (https://neon.com/faqs/postgres-services-built-in-connection-pooling);
 *   PgBouncer passes LISTEN through without an error, so notifications would be lost silently.
 *   Whatever the config's `pooler` says: the endpoint's mode is Neon's, not the config's.
 * - YugabyteDB is not refused: LISTEN/NOTIFY is early access from v2025.2.3
 *   (docs.yugabyte.com, "LISTEN/NOTIFY"), earlier releases answer LISTEN with an error
 *   ("This statement not supported yet", yugabyte/yugabyte-db#2899), which stops the listen
 *   config as any failing LISTEN does. Whether a v2025.2.3+ server has it enabled cannot be told
 *   at startup (the docs page does not say how it is switched on; a tserver flag
 *   `ysql_yb_enable_listen_notify` appears in third-party test setups), so the server decides.
 */
export function listenRefusal(engine: Engine, conn: string, host: string): EngineUnsupportedError | undefined {
  if (engine.kind === 'cockroachdb') {
    return new EngineUnsupportedError(
      'CockroachDB',
      'LISTEN',
      `CockroachDB${engine.version === undefined ? '' : ` ${engine.version}`} does not support LISTEN/NOTIFY ` +
        `(cockroachdb/cockroach#41522). Use a changefeed (CREATE CHANGEFEED … INTO a sink, or a core changefeed read with stream()) ` +
        `to be told of changes, or point the listen config at a PostgreSQL server.`,
      { conn },
    );
  }
  if (engine.kind === 'neon' && engine.pooled) {
    return new EngineUnsupportedError(
      'Neon (pooled endpoint)',
      'LISTEN',
      `${host} is Neon's pooled endpoint: PgBouncer in transaction mode, which hands each transaction ` +
        `to any server connection, so notifications would go to a session nobody listens on. Point the listen config at the ` +
        `direct endpoint, ${neonDirectHost(host)} (the host name without -pooler).`,
      { conn },
    );
  }
  return undefined;
}

/**
 * Why `stream()` may not read through a pausable portal on CockroachDB. rxpg reads a stream as
 * Bind, then Execute with a row limit and Flush per batch, the portal left suspended between
 * batches. CockroachDB documents pausable ("multiple active") portals only with the session
 * variable `multiple_active_portals_enabled` (v23.1+, preview; "PostgreSQL Compatibility",
 * Multiple active portals, https://www.cockroachlabs.com/docs/stable/postgresql-compatibility).
 * Without it the docs say nothing, and the server's source shows a side state machine whose
 * behaviour changed between releases (pkg/sql/pgwire/command_result.go, limitedCommandResult):
 * older releases close a suspended portal at once in an implicit transaction ("a portal
 * suspension is immediately followed by closing the portal"), after which the next Execute of
 * the exhausted portal returns no rows (pkg/sql/conn_executor_exec.go), a stream cut short with
 * no error; and answer a Flush while a portal is suspended with "multiple active portals not
 * supported" (0A000). Since a stream cut short silently is the worst outcome, rxpg streams on
 * CockroachDB only when the session says the variable is on (`SHOW`, one round trip per stream,
 * on CockroachDB alone). A fallback to DECLARE/FETCH (CockroachDB has SQL cursors inside a
 * transaction) would need a statement chain of its own; not done.
 */
export function streamRefusal(engine: Engine, setting: string | undefined): EngineUnsupportedError {
  const version = engine.version === undefined ? '' : ` ${engine.version}`;
  const why =
    setting === undefined
      ? `it has no session variable multiple_active_portals_enabled (it needs v23.1 or later)`
      : `its session variable multiple_active_portals_enabled is ${setting}`;
  return new EngineUnsupportedError(
    'CockroachDB',
    'stream()',
    `stream() reads through a portal paused between batches, which CockroachDB${version} supports only with multiple_active_portals_enabled, ` +
      `and ${why}: without it a paused portal may end after its first batch with no error. Turn it on for the config's sessions ` +
      `(options=-c multiple_active_portals_enabled=true in the connection string, or ALTER ROLE … SET multiple_active_portals_enabled = true), ` +
      `or read the rows with query(). Nothing was sent for the stream.`,
  );
}
