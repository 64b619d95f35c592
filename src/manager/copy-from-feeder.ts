import type { CopyInWriter } from '../driver/copy-handlers.js';
import { pullCopySource, type CheckedCopySource } from './copy-source.js';
import type { CopyDirection } from './run-copy.js';

/**
 * copyFrom()'s side of a COPY … FROM STDIN: once the server waits for data, the source is read
 * into the driver's writer as fast as the socket drains. A source error, or a value the writer
 * cannot encode, ends the COPY with a CopyFail carrying its message, and the caller gets that
 * error itself once the server has rolled the COPY back. With `binaryTypes` (checked by the
 * driver) rows go in the COPY's binary format.
 */
export function copyFromFeeder(source: CheckedCopySource, binaryTypes?: readonly string[]): CopyDirection {
  let writer: CopyInWriter | undefined;
  let stopSource: (() => void) | undefined;
  let stopped: string | undefined;
  let sourceError: unknown;
  return {
    handlers: {
      binaryTypes,
      copyIn: (copyWriter) => {
        writer = copyWriter;
        if (stopped !== undefined) {
          // Given up while the statement was on its way: nothing of the source is read.
          copyWriter.fail(`rxpg: copyFrom() was ${stopped}`);
          return;
        }
        stopSource = pullCopySource(source, copyWriter, (error) => {
          sourceError = error ?? new Error('copyFrom(): the source failed without an error');
          copyWriter.fail(`rxpg: copyFrom()'s source failed: ${error instanceof Error ? error.message : String(error)}`);
        });
      },
    },
    started: () => writer !== undefined,
    stop: (reason) => {
      stopped = reason;
      stopSource?.();
      if (writer === undefined || writer.closed) return false;
      writer.fail(`rxpg: copyFrom() was ${reason}`);
      return true;
    },
    completed: (done) => done(),
    ownError: () => sourceError,
  };
}
