import { Observable, type Subscriber, type Unsubscribable } from 'rxjs';
import type { Session } from './session.js';

/** The pool-side view of a lease: how a grant or a failure reaches it. */
export interface LeaseOwner {
  release(lease: Lease, session: Session): void;
  withdraw(lease: Lease): void;
}

/**
 * One lease request: an RxJS resource (for `using`) that is queued on creation, granted a
 * session by the pool, and released on `unsubscribe()`, also when that lands while it is still
 * waiting. `granted$` emits the session once and completes, or errors if no session can be had.
 */
export class Lease implements Unsubscribable {
  readonly requestedAt: number;
  #owner: LeaseOwner;
  #session: Session | undefined;
  #error: unknown;
  #state: 'waiting' | 'granted' | 'failed' | 'released' = 'waiting';
  #subscriber: Subscriber<Session> | undefined;
  /** Pool-private bookkeeping: the acquire timer. */
  timeout: Unsubscribable | undefined;

  constructor(owner: LeaseOwner, requestedAt: number) {
    this.#owner = owner;
    this.requestedAt = requestedAt;
  }

  get session(): Session | undefined {
    return this.#state === 'granted' ? this.#session : undefined;
  }

  get isWaiting(): boolean {
    return this.#state === 'waiting';
  }

  readonly granted$ = new Observable<Session>((subscriber) => {
    this.#subscriber = subscriber;
    this.#notify();
    return () => {
      this.#subscriber = undefined;
    };
  });

  /** Pool side: hands the session over. */
  grant(session: Session): void {
    this.#state = 'granted';
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
    if (state === 'granted') this.#owner.release(this, this.#session as Session);
    else if (state === 'waiting') this.#owner.withdraw(this);
  }

  #notify(): void {
    const subscriber = this.#subscriber;
    if (subscriber === undefined) return;
    if (this.#state === 'granted') {
      subscriber.next(this.#session as Session);
      subscriber.complete();
    } else if (this.#state === 'failed') {
      subscriber.error(this.#error);
    }
  }
}
