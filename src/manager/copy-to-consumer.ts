import { from, type ObservableInput, type Subscriber } from 'rxjs';
import type { CopyOutControl } from '../driver/copy-handlers.js';
import type { CopyToOptions } from './copy-options.js';
import type { CopyDirection } from './run-copy.js';

/**
 * copyTo()'s side of a COPY … TO STDOUT: each chunk goes through `stage` (when given) and is
 * then emitted, in order. While a stage is busy the socket is paused, so the server waits and
 * memory holds at most one socket read more than the consumer is working on.
 */
export function copyToConsumer(subscriber: Subscriber<Buffer>, stage: CopyToOptions['stage']): CopyDirection {
  let control: CopyOutControl | undefined;
  let started = false;
  let stopped = false;
  let busy = false;
  const queue: Buffer[] = [];
  let whenIdle: (() => void) | undefined;
  const drain = (): void => {
    while (!stopped && !busy && queue.length > 0) {
      const chunk = queue.shift() as Buffer;
      if (stage === undefined) {
        subscriber.next(chunk);
        continue;
      }
      let result: ReturnType<NonNullable<CopyToOptions['stage']>>;
      try {
        result = stage(chunk);
      } catch (error) {
        subscriber.error(error);
        return;
      }
      if (result === null || (typeof result !== 'object' && typeof result !== 'function')) {
        // undefined, true, false: the stage is done with the chunk.
        subscriber.next(chunk);
        continue;
      }
      busy = true;
      control?.pause();
      subscriber.add(
        from(result as ObservableInput<unknown>).subscribe({
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            busy = false;
            if (stopped) return;
            subscriber.next(chunk);
            drain();
          },
        }),
      );
      return;
    }
    if (busy || queue.length > 0 || stopped) return;
    control?.resume();
    const done = whenIdle;
    whenIdle = undefined;
    done?.();
  };
  return {
    handlers: {
      copyOut: (copyControl) => {
        started = true;
        control = copyControl;
        // The consumer left before the COPY started: what the server sends is read as it comes.
        if (stopped) readRest(copyControl);
      },
      copyData: (chunk) => {
        if (stopped) return;
        queue.push(chunk);
        drain();
      },
    },
    started: () => started,
    stop: () => {
      stopped = true;
      queue.length = 0;
      // The server must be able to send what it has left, or it never sees the cancel.
      if (control) readRest(control);
      return false;
    },
    completed: (done) => {
      if (busy || queue.length > 0) whenIdle = done;
      else done();
    },
    ownError: () => undefined,
  };
}

/** The consumer has gone: the rest of the COPY is read as fast as it comes (`drain`, or `resume` for a driver without it). */
function readRest(control: CopyOutControl): void {
  if (control.drain) control.drain();
  else control.resume();
}
