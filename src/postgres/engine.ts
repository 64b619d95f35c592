/**
 * Which Postgres-wire engine a session reached, as told by what the server reports at startup
 * (ParameterStatus) and the host name dialled: no round trip.
 *
 * - `postgresql`: PostgreSQL itself, and whatever is indistinguishable from it at startup. Citus
 *   is a PostgreSQL extension: it reports PostgreSQL's own `server_version` and no parameter of
 *   its own, so telling it apart would take a query (`SELECT extversion FROM pg_extension WHERE
 *   extname = 'citus'`) on every session of every server; rxpg does not spend it, since nothing
 *   rxpg relies on differs on a Citus coordinator (LISTEN, portals and COPY are PostgreSQL's).
 * - `cockroachdb`: reports `crdb_version` at startup ("CockroachDB CCL v23.1.11 (…)"), added for
 *   exactly this purpose (cockroachdb/cockroach#14145: "It is useful for clients to know that
 *   they are actually talking to a CockroachDB SQL node"); its `server_version` is a fixed
 *   PostgreSQL version ("13.0.0") and cannot tell it apart.
 * - `yugabytedb`: YSQL reports `server_version` as PostgreSQL's version, `-YB-` and its own
 *   ("11.2-YB-2.20.0.0-b0", "15.2-YB-2025.2.1.0-b0"; yugabyte/yugabyte-db#5154, docs.yugabyte.com
 *   ysqlsh page).
 * - `neon`: Neon runs PostgreSQL and reports nothing of its own at startup (the docs show
 *   none), so it is told by its host names, `ep-…​.neon.tech`, and its pooled endpoint by
 *   `-pooler` after the endpoint id ("ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech",
 *   https://neon.com/faqs/postgres-services-built-in-connection-pooling). Reached through a
 *   custom domain, a proxy or an IP address it is `postgresql`.
 *
 * @example
 * ```ts
 * import { detectEngine } from 'rxpg';
 *
 * detectEngine(new Map([['server_version', '13.0.0'], ['crdb_version', 'CockroachDB CCL v23.1.11 (x86_64-pc-linux-gnu)']]), 'db.internal');
 * //=> { kind: 'cockroachdb', name: 'CockroachDB', version: 'v23.1.11', serverVersion: '13.0.0', pooled: false }
 * ```
 * @see {@link Engine}
 */
export function detectEngine(parameters: ReadonlyMap<string, string>, host: string): Engine {
  const serverVersion = parameters.get('server_version');
  const crdb = parameters.get('crdb_version');
  if (crdb !== undefined) {
    return freeze({ kind: 'cockroachdb', name: 'CockroachDB', version: /\bv\d+\.\d+(?:\.\d+)?\S*/.exec(crdb)?.[0], serverVersion, pooled: false });
  }
  const yb = serverVersion === undefined ? null : /-YB-(\S+)/.exec(serverVersion);
  if (yb !== null) return freeze({ kind: 'yugabytedb', name: 'YugabyteDB', version: yb[1], serverVersion, pooled: false });
  if (isNeonHost(host)) return freeze({ kind: 'neon', name: 'Neon', version: undefined, serverVersion, pooled: isNeonPooledHost(host) });
  return freeze({ kind: 'postgresql', name: 'PostgreSQL', version: undefined, serverVersion, pooled: false });
}

/**
 * A Postgres-wire engine as {@link detectEngine} told it from the startup of one session.
 *
 * @example
 * ```ts
 * import { detectEngine, type Engine } from 'rxpg';
 *
 * const engine: Engine = detectEngine(new Map([['server_version', '11.2-YB-2.20.0.0-b0']]), '10.0.0.7');
 * if (engine.kind === 'yugabytedb') console.log(`${engine.name} ${engine.version}`); // YugabyteDB 2.20.0.0-b0
 * ```
 * @see {@link detectEngine}
 */
export interface Engine {
  readonly kind: 'postgresql' | 'cockroachdb' | 'yugabytedb' | 'neon';
  /** The engine's name as people write it (`CockroachDB`), for messages. */
  readonly name: string;
  /** The engine's own version where it reports one apart from `server_version` (`v23.1.11`, `2.20.0.0-b0`). */
  readonly version: string | undefined;
  /** `server_version` as the server reported it. */
  readonly serverVersion: string | undefined;
  /** Neon's pooled endpoint (PgBouncer in transaction mode); false for every other engine. */
  readonly pooled: boolean;
}

/** A host name of Neon's (its endpoints are `ep-…` under `neon.tech`). */
export function isNeonHost(host: string): boolean {
  return /^ep-[^.]+\.(?:[^.]+\.)*neon\.tech\.?$/i.test(host);
}

/** A host name of Neon's pooled endpoint: `-pooler` after the endpoint id. */
export function isNeonPooledHost(host: string): boolean {
  return isNeonHost(host) && /^[^.]+-pooler\./i.test(host);
}

/** The direct endpoint of a Neon pooled host: the same name without `-pooler`. */
export function neonDirectHost(host: string): string {
  return host.replace(/^([^.]+)-pooler\./i, '$1.');
}

/**
 * What `copyFrom()` must say on an engine whose COPY FROM is not one transaction, or undefined.
 * For the COPY work in progress (issue #16): YugabyteDB commits a COPY FROM every 20,000 rows
 * by default (`yb_default_copy_from_rows_per_transaction`, and `ROWS_PER_TRANSACTION` per
 * statement; docs.yugabyte.com COPY page, "Import a large table using smaller transactions"),
 * so a COPY that fails part-way leaves the batches before the failure committed and visible.
 * Inside an explicit transaction block the docs do not say what happens to the batches: unclear,
 * so the caveat is given there too.
 */
export function copyFromCaveat(engine: Engine): string | undefined {
  if (engine.kind !== 'yugabytedb') return undefined;
  return (
    'YugabyteDB commits COPY FROM every 20,000 rows by default (yb_default_copy_from_rows_per_transaction, ROWS_PER_TRANSACTION): ' +
    'a COPY that fails part-way leaves the rows before the failure committed. Set yb_default_copy_from_rows_per_transaction = 0 ' +
    'for one transaction, or make the load idempotent.'
  );
}

function freeze(engine: Engine): Engine {
  return Object.freeze(engine);
}
