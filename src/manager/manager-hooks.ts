import type { DbEvent } from '../events/db-event.js';
import type { DbManager } from './db-manager.js';

/**
 * Where an operation's config points, once per pool: what an instrumentation labels spans and
 * metrics with. Built when the pool is, so that starting an operation allocates nothing for it.
 */
export interface OperationTarget {
  readonly conn: string;
  /** The driver's dialect: `postgres`, `mysql`, or a third backend's. */
  readonly dialect: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
}

/**
 * What kind of operation started. `statement`: `query()` and `command()` (on the manager or a
 * scope's handle); `stream`: `stream()` and `streamBatches()` (a server-side cursor);
 * `transaction`: `transaction()` and a `cursor()` scope outside autocommit; `copy`: `copyTo()` and
 * `copyFrom()` (rows: the server's count); `batch`: `batch()` (rows: every statement's returned rows).
 */
export type OperationKind = 'statement' | 'stream' | 'transaction' | 'copy' | 'batch';

/** An operation that was just subscribed. */
export interface OperationStart {
  readonly kind: OperationKind;
  /** The method that made it: `query`, `command`, `stream`, `streamBatches`, `copyTo`, `copyFrom`, `transaction`, `cursor`. */
  readonly method: string;
  readonly target: OperationTarget;
  /** The statement's text (never its values); undefined for a transaction and a batch. */
  readonly sql: string | undefined;
  /** A batch's statements' texts, in order (never their values). */
  readonly batch?: readonly string[];
  /** The transaction this statement runs in, when it runs in one. */
  readonly parent: OperationTracker | undefined;
}

/**
 * One operation, from subscribe to its end. Exactly one of the three ends is called, once; the
 * callers guarantee it (a second call is a no-op in every implementation, as a backstop).
 */
export interface OperationTracker {
  /** It completed; `rows` is how many rows the server returned (0 for a transaction). */
  succeeded(rows: number): void;
  /** It failed with `error` (a server error, a timeout, no session from the pool). */
  failed(error: unknown, rows: number): void;
  /** Its subscriber unsubscribed before it ended; `rows` reached the subscriber first. */
  cancelled(rows: number): void;
}

/**
 * The seam an instrumentation (rxpg/opentelemetry) plugs into a manager: told when each
 * operation is subscribed, synchronously in the subscriber's context (so it can read the
 * context active there), and of its end. Unset, it costs one property read per operation.
 */
export interface ManagerHooks {
  /** An operation was subscribed; its tracker, or undefined not to follow it. */
  start(operation: OperationStart): OperationTracker | undefined;
  /** Every event of the manager, built only while hooks that want them are set. */
  event?(event: DbEvent): void;
  /**
   * Runs a call into the client library that starts a statement (pg's `Client.query`). The
   * OpenTelemetry instrumentation runs it with tracing suppressed, so that the library's own
   * instrumentation (instrumentation-pg) opens no span that rxpg's statements would never end.
   */
  clientCall?<R>(call: () => R): R;
  /**
   * Runs the opening of a pooled session. A session serves every caller of its pool, but its
   * socket keeps the async context it was opened in, and its rows reach subscribers from there:
   * the OpenTelemetry instrumentation opens it in the root context, so that no caller's span
   * becomes the active span of every later caller's callbacks.
   */
  openSession?<R>(open: () => R): R;
}

/** The one mutable slot through which a manager reads its hooks; shared with its pools' statement contexts. */
export interface HooksSlot {
  hooks: ManagerHooks | undefined;
  /** Called when `hooks` changes: the manager passes `clientCall` to its driver. */
  readonly changed: () => void;
}

const slots = new WeakMap<DbManager, HooksSlot>();

/** @internal Called by the manager's constructor. */
export function registerHooksSlot(manager: DbManager, slot: HooksSlot): void {
  slots.set(manager, slot);
}

/**
 * The hooks slot of `manager`, for instrumentations inside rxpg: kept out of the manager's
 * public surface, where a user could set hooks by accident.
 */
export function hooksSlotOf(manager: DbManager): HooksSlot | undefined {
  return slots.get(manager);
}
