import { from, Observable, type ObservableInput, type OperatorFunction, type Subscription } from 'rxjs';
import { ConfigurationError } from '../errors/configuration-error.js';
import { RxpgError } from '../errors/rxpg-error.js';

/** What {@link boundedConcatMap} does when its buffer is full. */
export type OverflowPolicy = 'error' | 'drop';

/** Options of {@link boundedConcatMap}. */
export interface BoundedConcatMapOptions {
  /** Values that may wait while one is being processed. */
  readonly bufferSize: number;
  /** `error`: fail with an RxpgError (reason `overflow`); `drop`: drop the newest and count them. */
  readonly overflow: OverflowPolicy;
}

/**
 * Emitted in-band before the next result after values were dropped by the `drop` policy.
 *
 * @example
 * ```ts
 * import { boundedConcatMap, DroppedValues } from 'rxpg';
 * import { interval, timer, map } from 'rxjs';
 *
 * interval(1)
 *   .pipe(boundedConcatMap((n) => timer(10).pipe(map(() => n)), { bufferSize: 5, overflow: 'drop' }))
 *   .subscribe((value) => value instanceof DroppedValues && console.log(`dropped ${value.count}`));
 * ```
 * @see {@link boundedConcatMap}
 */
export class DroppedValues {
  readonly count: number;

  constructor(count: number) {
    this.count = count;
  }
}

/**
 * `concatMap` with a bounded buffer, for a slow asynchronous consumer of a hot source such as
 * {@link PgManager.notifications}: values are processed one at a time by `project`; at most
 * `bufferSize` wait meanwhile. When the buffer is full, `overflow: 'error'` fails the stream
 * with reason `overflow`, `overflow: 'drop'` drops the newest values and emits one
 * {@link DroppedValues} with their count before the next result, so a subscriber knows it
 * missed some and can resync. Memory stays bounded however slow `project` is.
 *
 * @example
 * ```ts
 * import { PgManager, boundedConcatMap, DroppedValues } from 'rxpg';
 *
 * PgManager.getInstance().notifications('orders', { conn: 'listenconn' })
 *   .pipe(boundedConcatMap((note) => saveSlowly(note.payload), { bufferSize: 1000, overflow: 'drop' }))
 *   .subscribe((result) => {
 *     if (result instanceof DroppedValues) resyncOrders(); // missed result.count notifications
 *   });
 * ```
 */
export function boundedConcatMap<T, R>(
  project: (value: T) => ObservableInput<R>,
  options: BoundedConcatMapOptions,
): OperatorFunction<T, R | DroppedValues> {
  const { bufferSize, overflow } = options;
  if (!Number.isInteger(bufferSize) || bufferSize < 0) {
    throw new ConfigurationError(`boundedConcatMap: bufferSize must be an integer ≥ 0, got ${String(bufferSize)}.`);
  }
  if (overflow !== 'error' && overflow !== 'drop') {
    throw new ConfigurationError(`boundedConcatMap: overflow must be 'error' or 'drop', got ${String(overflow)}.`);
  }
  return (source) =>
    new Observable<R | DroppedValues>((subscriber) => {
      const waiting: T[] = [];
      let active: Subscription | undefined;
      let dropped = 0;
      let sourceDone = false;
      const runNext = (): void => {
        const value = waiting.shift() as T;
        if (dropped > 0) {
          subscriber.next(new DroppedValues(dropped));
          dropped = 0;
        }
        let inner: ObservableInput<R>;
        try {
          inner = project(value);
        } catch (error) {
          subscriber.error(error);
          return;
        }
        active = from(inner).subscribe({
          next: (result) => subscriber.next(result),
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            active = undefined;
            if (waiting.length > 0) runNext();
            else if (sourceDone) {
              if (dropped > 0) subscriber.next(new DroppedValues(dropped));
              subscriber.complete();
            }
          },
        });
      };
      const upstream = source.subscribe({
        next: (value) => {
          if (active === undefined && waiting.length === 0) {
            waiting.push(value);
            runNext();
            return;
          }
          if (waiting.length < bufferSize) {
            waiting.push(value);
            return;
          }
          if (overflow === 'drop') {
            dropped++;
            return;
          }
          subscriber.error(
            new RxpgError('RXPG_OVERFLOW', 'overflow', `boundedConcatMap: more than ${bufferSize} values waited for a slow consumer (overflow: 'error').`),
          );
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          if (active === undefined && waiting.length === 0) {
            if (dropped > 0) subscriber.next(new DroppedValues(dropped));
            subscriber.complete();
          }
        },
      });
      return () => {
        upstream.unsubscribe();
        active?.unsubscribe();
        waiting.length = 0;
      };
    });
}
