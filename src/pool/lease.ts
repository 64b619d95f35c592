import type { Unsubscribable } from 'rxjs';
import { LeaseScope } from './lease-scope.js';
import type { RunOptions } from '../driver/statement-sink.js';
import type { Session } from './session.js';

/** An independent caller's statement, outside any transaction or scope: it may share a busy session's pipeline. */
export interface SharedStatement {
  readonly sql: string;
  readonly params: readonly unknown[];
  readonly options?: RunOptions;
  /** It has a time limit (its own or the config's statementTimeout). */
  readonly limited: boolean;
}

/** The pool-side view of a lease: how a grant or a failure reaches it. */
export interface LeaseOwner {
  release(lease: Lease, session: Session): void;
  withdraw(lease: Lease): void;
}

/**
 * One lease request: queued on creation, granted a session by the pool, and released on
 * `unsubscribe()`, also when that lands while it is still waiting. {@link holdLease} is how the
 * rest of rxpg takes one.
 */
export class Lease implements Unsubscribable {
  readonly requestedAt: number;
  #owner: LeaseOwner;
  #session: Session | undefined;
  #error: unknown;
  #state: 'waiting' | 'granted' | 'shared' | 'failed' | 'released' = 'waiting';
  #granted: ((session: Session) => void) | undefined;
  #failed: ((error: unknown) => void) | undefined;
  #scope: LeaseScope | undefined;
  /** The scope whose code requested this lease, when scopes are tracked across awaits. */
  readonly parent: LeaseScope | undefined;
  readonly #tracked: boolean;
  /**
   * The request is for this one independent caller's statement, which may instead join a busy
   * session's pipeline (see {@link Lease.share}).
   */
  readonly statement: SharedStatement | undefined;

  constructor(owner: LeaseOwner, requestedAt: number, tracked = false, statement?: SharedStatement) {
    this.#owner = owner;
    this.statement = statement;
    this.requestedAt = requestedAt;
    this.#tracked = tracked;
    this.parent = tracked ? LeaseScope.current() : undefined;
  }

  /** The scope of the code that holds this lease (made when a scope first needs it). */
  get scope(): LeaseScope {
    this.#scope ??= new LeaseScope(this.#owner, this.parent, () => this.#state === 'granted', this.#tracked);
    return this.#scope;
  }

  /** Whether the code of the scope holding this lease is running now (see {@link LeaseScope}). */
  get scopeRunning(): boolean {
    return this.#scope?.running === true;
  }

  /** Calls `granted` with the session once it is granted, or `failed` if none can be had (at once if already decided). */
  whenGranted(granted: (session: Session) => void, failed: (error: unknown) => void): void {
    this.#granted = granted;
    this.#failed = failed;
    this.#notify();
  }

  /** Pool side: hands the session over. */
  grant(session: Session): void {
    this.#state = 'granted';
    this.#session = session;
    this.#notify();
  }

  /**
   * Pool side: instead of a session of its own, a place in a busy session's pipeline. The
   * holder's statement runs there as one of several; nothing returns to the pool on
   * `unsubscribe()`, since the session is not the holder's.
   */
  share(session: Session): void {
    this.#state = 'shared';
    this.#session = session;
    this.#notify();
  }

  /** Pool side: no session can be had. */
  fail(error: unknown): void {
    this.#state = 'failed';
    this.#error = error;
    this.#notify();
  }

  /** Returns the session to the pool, or leaves the queue. Idempotent. */
  unsubscribe(): void {
    const state = this.#state;
    this.#state = 'released';
    this.#granted = undefined;
    this.#failed = undefined;
    if (state === 'granted') this.#owner.release(this, this.#session as Session);
    else if (state === 'waiting') this.#owner.withdraw(this);
  }

  #notify(): void {
    if (this.#state === 'granted' || this.#state === 'shared') {
      const granted = this.#granted;
      this.#granted = undefined;
      this.#failed = undefined;
      granted?.(this.#session as Session);
    } else if (this.#state === 'failed') {
      const failed = this.#failed;
      this.#granted = undefined;
      this.#failed = undefined;
      failed?.(this.#error);
    }
  }
}
