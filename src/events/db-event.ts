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
 * (`session_changed`: its state could not be reset in place, as on MySQL).
 */
export interface ReleaseEvent {
  readonly type: 'release';
  readonly conn: string;
  readonly processId: number;
  readonly discarded: boolean;
  readonly reason: 'pooled' | 'broken' | 'reset_failed' | 'session_changed' | 'max_lifetime' | 'idle_timeout' | 'closing';
  /**
   * What the lease had changed in the session's state (a SET, a temporary table, a lock…),
   * when it had: the session was reset (and `initStatement` run again) before being pooled,
   * or closed.
   */
  readonly sessionChange?: string;
}

/**
 * A driver could not use a fast path on a session and fell back to a slower, equally correct
 * one (`feature: 'message-tap'`: pg parses every message itself), and why. Worth a warning: the
 * usual cause is a `pg` release that changed what the fast path relies on.
 */
export interface FallbackEvent {
  readonly type: 'fallback';
  readonly conn: string;
  readonly processId: number;
  readonly feature: string;
  readonly detail: string;
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
export type DbEvent = QueryEvent | ErrorEvent | NoticeEvent | ConnectEvent | AcquireEvent | ReleaseEvent | FallbackEvent;

/** Emits an event built lazily: `build` runs only when someone listens. */
export type EmitEvent = (build: () => DbEvent) => void;
