import { isObservable, type Observable, type ObservableInput, type Subscription } from 'rxjs';
import type { CopyInValue, CopyInWriter } from '../driver/copy-handlers.js';
import { ConfigurationError } from '../errors/configuration-error.js';

/** What copyFrom() reads: chunks of COPY data or rows, from an Observable, an iterable or an async iterable. */
export type CopySource = ObservableInput<CopyInValue> | Iterable<CopyInValue> | AsyncIterable<CopyInValue>;

/** A source checked by {@link checkCopySource}: how it is read. */
export type CheckedCopySource =
  | { readonly kind: 'iterable'; readonly source: Iterable<CopyInValue> }
  | { readonly kind: 'async'; readonly source: AsyncIterable<CopyInValue> }
  | { readonly kind: 'observable'; readonly source: Observable<CopyInValue> };

/** Rejects at once a source copyFrom() cannot read, saying what it takes. */
export function checkCopySource(source: unknown, method: string): CheckedCopySource {
  if (isObservable(source)) return { kind: 'observable', source: source as Observable<CopyInValue> };
  if (typeof source === 'string' || source instanceof Uint8Array) {
    throw new ConfigurationError(`${method}: source$ is a single ${typeof source === 'string' ? 'string' : 'Buffer'}; wrap it: [data] or of(data).`);
  }
  if (source !== null && typeof source === 'object') {
    if (typeof (source as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function') return { kind: 'async', source: source as AsyncIterable<CopyInValue> };
    if (typeof (source as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function') return { kind: 'iterable', source: source as Iterable<CopyInValue> };
  }
  throw new ConfigurationError(
    `${method}: source$ must be an Observable, an iterable (an array, a generator) or an async iterable (an async generator, a Node Readable) ` +
      `of Buffers, strings or rows (arrays of values), got ${source === null ? 'null' : typeof source}.`,
  );
}

/**
 * Feeds `source` into `writer` and ends it: a value at a time, and only while the writer has
 * room. An iterable or async iterable is pulled, so a source faster than the server waits for
 * the socket to drain. An Observable has no demand signal: what it emits is written at once,
 * and waits in the socket's buffer when the server is slower. `failed` hears a source error (or
 * a value the writer refused); the writer is then left to the caller. Returns the function that
 * stops reading (unsubscribes, or returns the iterator).
 */
export function pullCopySource(source: CheckedCopySource, writer: CopyInWriter, failed: (error: unknown) => void): () => void {
  let stopped = false;
  const fail = (error: unknown): void => {
    if (stopped) return;
    stopped = true;
    failed(error);
  };
  switch (source.kind) {
    case 'observable': {
      let subscription: Subscription | undefined;
      subscription = source.source.subscribe({
        next: (value) => {
          if (stopped) return;
          try {
            writer.write(value);
          } catch (error) {
            fail(error);
            subscription?.unsubscribe();
          }
        },
        error: fail,
        complete: () => {
          if (stopped) return;
          stopped = true;
          writer.end();
        },
      });
      // A synchronous source that failed while subscribing had no subscription to end yet.
      if (stopped) subscription.unsubscribe();
      return () => {
        stopped = true;
        subscription?.unsubscribe();
      };
    }
    case 'iterable': {
      let iterator: Iterator<CopyInValue>;
      const pump = (): void => {
        try {
          iterator ??= source.source[Symbol.iterator]();
          while (!stopped) {
            const step = iterator.next();
            if (step.done) {
              stopped = true;
              writer.end();
              return;
            }
            // The socket's buffer is full: go on when the server has taken it.
            if (!writer.write(step.value)) return writer.onDrain(pump);
          }
        } catch (error) {
          fail(error);
          closeIterator(iterator);
        }
      };
      pump();
      return () => {
        if (stopped) return;
        stopped = true;
        closeIterator(iterator);
      };
    }
    case 'async': {
      const iterator = source.source[Symbol.asyncIterator]();
      const pump = (): void => {
        iterator.next().then(
          (step) => {
            if (stopped) return;
            if (step.done) {
              stopped = true;
              writer.end();
              return;
            }
            let room: boolean;
            try {
              room = writer.write(step.value);
            } catch (error) {
              fail(error);
              void iterator.return?.()?.catch(() => {});
              return;
            }
            if (room) pump();
            else writer.onDrain(pump);
          },
          fail,
        );
      };
      pump();
      return () => {
        if (stopped) return;
        stopped = true;
        // A Node Readable is destroyed by return(); its rejection (if any) is nobody's concern now.
        void iterator.return?.()?.catch(() => {});
      };
    }
  }
}

function closeIterator(iterator: Iterator<unknown> | undefined): void {
  try {
    iterator?.return?.();
  } catch {
    // The source is being given up; its own cleanup error changes nothing.
  }
}
