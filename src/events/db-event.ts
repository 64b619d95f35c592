import type { ServerNotice } from '../driver/server-notice.js';
import type { RxpgError } from '../errors/rxpg-error.js';

/** A statement ended successfully. Parameter values are never included, only their count. */
export interface QueryEvent {
  readonly type: 'query';
  readonly conn: string;
  readonly processId: number;
  readonly sql: string;
  readonly paramCount: number;
  readonly durationMillis: number;
  readonly rowCount: number | null;
  /**
   * Statements that ran ahead of `sql` as part of it, in the same round trip where the driver
   * can pipeline them: a transaction's BEGIN travels with its first statement.
   */
  readonly prelude?: readonly string[];
  /** The statement ran in a batch (`batch()`): its place, from 0, and the batch's size. */
  readonly batch?: { readonly index: number; readonly size: number };
}

/** A statement, connect or lease failed. */
export interface ErrorEvent {
  readonly type: 'error';
  readonly conn: string;
  readonly sql: string | undefined;
  readonly error: RxpgError;
}

/** The server sent a NOTICE (or WARNING, INFO) on a session of this config. */
export interface NoticeEvent extends ServerNotice {
  readonly type: 'notice';
  readonly conn: string;
  readonly processId: number;
}

/** A new session opened (including `initStatement`). */
export interface ConnectEvent {
  readonly type: 'connect';
  readonly conn: string;
  readonly processId: number;
  readonly durationMillis: number;
}

/** A lease was granted after waiting `waitMillis`. */
export interface AcquireEvent {
  readonly type: 'acquire';
  readonly conn: string;
  readonly processId: number;
  readonly waitMillis: number;
}

/**
 * A lease came back; `discarded` when its session was closed instead of pooled, and why
 * (`session_changed`: its state could not be reset in place, as on MySQL; `role_changed`: its
 * server is no longer what the config's `target_session_attrs` asks for, as after a promotion).
 */
export interface ReleaseEvent {
  readonly type: 'release';
  readonly conn: string;
  readonly processId: number;
  readonly discarded: boolean;
  readonly reason: 'pooled' | 'broken' | 'reset_failed' | 'session_changed' | 'role_changed' | 'max_lifetime' | 'idle_timeout' | 'closing';
  /**
   * What the lease had changed in the session's state (a SET, a temporary table, a lock…),
   * when it had: the session was reset (and `initStatement` run again) before being pooled,
   * or closed.
   */
  readonly sessionChange?: string;
  /** With reason `role_changed`: what the server was and is now. */
  readonly roleChange?: string;
}

/**
 * Which host a new session went to and why (`chosen`), or why a host of the config's list was
 * passed over (`passed_over`: it refused, timed out, or is not the kind of server
 * `target_session_attrs` asks for). Emitted for configs with several hosts or a
 * `target_session_attrs` other than `any`.
 */
export interface HostEvent {
  readonly type: 'host';
  readonly conn: string;
  readonly host: string;
  readonly port: number;
  readonly outcome: 'chosen' | 'passed_over';
  readonly why: string;
  /** The session's process id, when chosen. */
  readonly processId?: number;
}

/**
 * A driver could not use a fast path and fell back to a slower, equally correct one, and why.
 * Worth a warning. `feature: 'message-tap'` (once per session): pg parses every message itself,
 * usually because a `pg` release changed what the fast path relies on.
 * `feature: 'prepared-statements'` (once per config): a named prepared statement was missing on
 * its server connection (SQLSTATE 26000) or its name was taken there (42P05), the mark of a
 * transaction pooler, so the config now sends unnamed statements; `detail` names the setting to
 * start that way (`prepare: false`, or `pooler: 'transaction'`).
 */
export interface FallbackEvent {
  readonly type: 'fallback';
  readonly conn: string;
  readonly processId: number;
  readonly feature: string;
  readonly detail: string;
}

/**
 * A statement or scope of a config was started from inside a transaction, cursor or connection
 * scope of the same config without the scope's handle: it runs on another session of the pool,
 * outside the scope's transaction, and waits forever for any row lock the scope holds (the scope
 * waits for it in turn). `use` names the handle method to run it with. `refused` when the
 * manager's `scopeBypass: 'error'` failed it with a `PoolError` (reason `scope_bypass`); else it
 * went on. Worth a warning.
 */
export interface ScopeBypassEvent {
  readonly type: 'scope_bypass';
  readonly conn: string;
  /** The manager method that started it: `query`, `stream`, `streamBatches`, `transaction`, `cursor`, `connection`. */
  readonly method: string;
  /** The scope it was started from. */
  readonly scope: 'transaction' | 'cursor' | 'connection';
  /** The scope handle's method to use instead. */
  readonly use: 'tx.query' | 'curs.execute' | 'conn.query';
  /** The statement's text (never its parameters); undefined for a scope. */
  readonly sql: string | undefined;
  readonly refused: boolean;
}

/**
 * Everything `events$` emits: a discriminated union on `type`. Mirrors PgManager's
 * `pgmanager_sql` (query, error) and `pgmanager_notices` (notice) loggers, plus pool activity.
 *
 * @example
 * ```ts
 * import { PgManager } from 'rxpg';
 * import { filter } from 'rxjs';
 *
 * PgManager.getInstance().events$
 *   .pipe(filter((event) => event.type === 'query'))
 *   .subscribe((event) => console.log(event.sql, event.durationMillis));
 * ```
 * @see {@link logEventsTo}
 */
export type DbEvent = QueryEvent | ErrorEvent | NoticeEvent | ConnectEvent | AcquireEvent | ReleaseEvent | FallbackEvent | ScopeBypassEvent | HostEvent;

/**
 * What a {@link ScopeBypassEvent} means, in words: the message of the warning logged for it and
 * of the error that refuses it.
 */
export function describeScopeBypass(event: Omit<ScopeBypassEvent, 'type'>): string {
  const what = event.scope === 'transaction' ? 'transaction' : 'scope';
  return (
    `pgm.${event.method}() started inside a ${event.scope}() on '${event.conn}' without the scope's handle: it runs on another ` +
    `session, outside the ${what}, so it does not see the ${what}'s uncommitted work and waits forever for any row lock the ` +
    `${what} holds. Run it with ${event.use}() inside the scope` +
    (event.refused ? ` (refused: scopeBypass is 'error').` : `; scopeBypass: 'error' makes this an error.`)
  );
}

/** Emits an event built lazily: `build` runs only when someone listens. */
export type EmitEvent = (build: () => DbEvent) => void;
