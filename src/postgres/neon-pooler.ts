import type { ConnectionHooks } from '../driver/driver.js';
import type { ConnectionParams } from '../driver/connection-params.js';
import { isNeonPooledHost, neonDirectHost } from './engine.js';
import type { PostgresHost } from './postgres-connection-params.js';

/**
 * The pooler a config behaves as when it did not say: `transaction` when every host of its list
 * is Neon's pooled endpoint, else what it was given. Neon documents that endpoint as PgBouncer in
 * transaction mode ("Neon's PgBouncer runs in transaction pooling mode. The connection returns to
 * the pool after each transaction", https://neon.com/faqs/postgres-services-built-in-connection-pooling),
 * and `pooler: 'transaction'` is what rxpg does behind one: unnamed statements (which every
 * PgBouncer passes through, whatever its max_prepared_statements), no session reset (the state a
 * lease leaves is on whichever server connection ran its transaction), and a listen config refused.
 * Safe and documented, so it is applied, and said once per config by a `fallback` event
 * ({@link reportInferredPooler}). A config that says `pooler` (or `prepare`) keeps its word.
 */
export function inferPooler(
  hosts: readonly PostgresHost[],
  pooler: 'none' | 'session' | 'transaction',
  prepare: boolean,
  explicit: { readonly pooler?: string; readonly prepare?: boolean } | undefined,
): { pooler: 'none' | 'session' | 'transaction'; prepare: boolean; inferredFrom: string | undefined } {
  if (explicit?.pooler !== undefined || pooler !== 'none' || hosts.length === 0 || !hosts.every((host) => isNeonPooledHost(host.host))) {
    return { pooler, prepare, inferredFrom: undefined };
  }
  return { pooler: 'transaction', prepare: explicit?.prepare !== undefined ? prepare : false, inferredFrom: hosts[0].host };
}

const reported = new WeakSet<ConnectionParams>();

/**
 * The one `fallback` event of a config whose pooler was inferred from Neon's pooled host name
 * (every session of a config shares its frozen params object).
 */
export function reportInferredPooler(params: ConnectionParams & { readonly poolerInferredFrom?: string }, hooks: ConnectionHooks, processId: number): void {
  const host = params.poolerInferredFrom;
  if (host === undefined || reported.has(params)) return;
  reported.add(params);
  hooks.onDriverEvent?.({
    type: 'fallback',
    processId,
    feature: 'pooler',
    detail:
      `${host} is Neon's pooled endpoint (PgBouncer in transaction mode): this config behaves as pooler: 'transaction' ` +
      `(unnamed statements, no session reset, no listen config). Say pooler: 'transaction' to make that explicit, ` +
      `or connect to ${neonDirectHost(host)} for a session of your own.`,
  });
}
