import { Observable, of, switchMap, timeout, timer, type SchedulerLike, type Subscription } from 'rxjs';
import type { ConnectionParams } from '../driver/connection-params.js';
import type { Driver } from '../driver/driver.js';
import { ConnectionError } from '../errors/connection-error.js';
import { RxpgError } from '../errors/rxpg-error.js';
import type { EmitEvent } from '../events/db-event.js';
import { Session } from './session.js';

/** How a connector opens sessions; built from a connection config. */
export interface ConnectorOptions {
  readonly conn: string;
  readonly connectTimeoutMillis: number;
  readonly initStatement: string | undefined;
  readonly cancelGraceMillis: number;
  readonly scheduler: SchedulerLike;
}

/** What the connector reports to its pool. */
export interface ConnectorEvents {
  /** A session opened and ran `initStatement`. */
  readonly opened: (session: Session) => void;
  /** An attempt failed; the connector now backs off before it is ready again. */
  readonly failed: (error: RxpgError) => void;
  /** The backoff after a failure is over: attempts may be made again. */
  readonly ready: () => void;
  /** The driver says an open session died. */
  readonly lost: (session: Session) => void;
}

/** One attempt to open a session: registered before it starts, since a driver may answer at once. */
interface Attempt {
  subscription: Subscription | undefined;
}

/**
 * Opens the sessions of one pool: connect, then `initStatement`, under one deadline
 * (`connectTimeoutMillis`). After a failure it backs off, 50 ms doubling per failure in a row up
 * to 2 s, so a refused server is not hammered by a queue of requests.
 */
export class Connector {
  readonly #driver: Driver;
  readonly #params: ConnectionParams;
  readonly #options: ConnectorOptions;
  readonly #emit: EmitEvent;
  readonly #events: ConnectorEvents;
  readonly #attempts = new Set<Attempt>();
  #failures = 0;
  #backoff: Subscription | undefined;
  #lastError: RxpgError | undefined;
  #closed = false;

  constructor(driver: Driver, params: ConnectionParams, options: ConnectorOptions, emit: EmitEvent, events: ConnectorEvents) {
    this.#driver = driver;
    this.#params = params;
    this.#options = options;
    this.#emit = emit;
    this.#events = events;
  }

  /** Attempts under way. */
  get attempts(): number {
    return this.#attempts.size;
  }

  /** Whether the connector waits out a backoff and makes no attempt now. */
  get backingOff(): boolean {
    return this.#backoff !== undefined;
  }

  /** Why the last attempt failed, while no attempt has succeeded since. */
  get lastError(): RxpgError | undefined {
    return this.#lastError;
  }

  /** Starts one attempt. */
  open(): void {
    const { conn, connectTimeoutMillis, scheduler, initStatement, cancelGraceMillis } = this.#options;
    const startedAt = scheduler.now();
    let session: Session | undefined;
    const attempt: Attempt = { subscription: undefined };
    this.#attempts.add(attempt);
    const subscription = this.#driver
      .connect(this.#params, {
        onNotice: (notice) => this.#emit(() => ({ type: 'notice', conn, processId: session?.processId ?? 0, ...notice })),
        onLost: () => {
          if (session !== undefined) this.#events.lost(session);
        },
        onDriverEvent: (event) => this.#emit(() => ({ ...event, conn })),
      })
      .pipe(
        switchMap((driverConnection) => {
          session = new Session(driverConnection, { scheduler, cancelGraceMillis });
          return initStatement === undefined ? of(session) : runInit(session, initStatement);
        }),
        // One deadline for TCP, TLS, authentication and initStatement; giving up unsubscribes,
        // which makes the driver drop the socket.
        timeout({ first: connectTimeoutMillis, scheduler, with: () => { throw connectTimeoutError(conn, connectTimeoutMillis); } }),
      )
      .subscribe({
        next: (ready) => {
          // What the session is now (connected, initStatement run) is what a reset returns it to.
          ready.driver.markBaseline();
          this.#attempts.delete(attempt);
          this.#failures = 0;
          this.#lastError = undefined;
          this.#emit(() => ({ type: 'connect', conn, processId: ready.processId, durationMillis: scheduler.now() - startedAt }));
          this.#events.opened(ready);
        },
        error: (error: unknown) => {
          this.#attempts.delete(attempt);
          session?.destroy();
          const reported = toRxpgError(error, conn);
          this.#emit(() => ({ type: 'error', conn, sql: undefined, error: reported }));
          this.#failed(reported);
        },
      });
    if (this.#attempts.has(attempt)) attempt.subscription = subscription;
  }

  /** Abandons every attempt (their sockets are dropped) and the backoff. */
  close(): void {
    this.#closed = true;
    for (const attempt of this.#attempts) attempt.subscription?.unsubscribe();
    this.#attempts.clear();
    this.#backoff?.unsubscribe();
    this.#backoff = undefined;
  }

  #failed(error: RxpgError): void {
    this.#failures++;
    this.#lastError = error;
    if (!this.#closed && this.#backoff === undefined) {
      const delay = Math.min(2000, 50 * 2 ** (this.#failures - 1));
      this.#backoff = timer(delay, this.#options.scheduler).subscribe(() => {
        this.#backoff = undefined;
        this.#events.ready();
      });
    }
    this.#events.failed(error);
  }
}

/** Runs `initStatement` on a new session; the session is destroyed if it fails or is given up on. */
function runInit(session: Session, initStatement: string): Observable<Session> {
  return new Observable<Session>((subscriber) => {
    let done = false;
    session.execute(initStatement, [], {
      row: () => {},
      complete: () => {
        done = true;
        subscriber.next(session);
        subscriber.complete();
      },
      error: (error) => {
        done = true;
        subscriber.error(error);
      },
    });
    return () => {
      if (!done) session.destroy();
    };
  });
}

function connectTimeoutError(conn: string, millis: number): ConnectionError {
  return new ConnectionError(`Connection '${conn}': could not connect within connectTimeout (${millis / 1000} s).`, { conn, isRetryable: true });
}

function toRxpgError(error: unknown, conn: string): RxpgError {
  if (error instanceof RxpgError) return error;
  return new ConnectionError(`Connection '${conn}': ${error instanceof Error ? error.message : String(error)}`, { conn, cause: error });
}
