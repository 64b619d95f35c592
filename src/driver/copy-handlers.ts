/**
 * One value a COPY … FROM source yields: a chunk of data in the statement's own format, sent
 * as it is, or a row as an array of values, which the driver encodes in its text format (or,
 * given copyFrom()'s `types`, in its binary format).
 *
 * @category Driver seam
 */
export type CopyInValue = Buffer | Uint8Array | string | readonly unknown[];

/**
 * What a driver hands over once the server waits for COPY data: the way to send it, with the
 * socket's demand. `write` returns false when the driver's buffers are full: write more only
 * after `onDrain`'s callback ran. After `end` or `fail`, nothing more is written.
 *
 * @category Driver seam
 */
export interface CopyInWriter {
  /** Queues one chunk or row; false when the caller should wait for {@link CopyInWriter.onDrain}. */
  write(value: CopyInValue): boolean;
  /** Calls `callback` once when the buffers have drained (at once when they are not full). */
  onDrain(callback: () => void): void;
  /** Sends what is buffered and ends the data: the server then commits the COPY and reports its count. */
  end(): void;
  /** Ends the COPY with an error the server reports back (Postgres' CopyFail); it copies nothing. */
  fail(message: string): void;
  /** True once `end` or `fail` was called, or the server ended the COPY (an error): writes are dropped from then on. */
  readonly closed: boolean;
}

/**
 * How a COPY … TO statement's reading is paused while its consumer is busy.
 *
 * @category Driver seam
 */
export interface CopyOutControl {
  /** Stops reading the socket after the current read (the server then waits, its buffers full). */
  pause(): void;
  /** Reads again. */
  resume(): void;
  /**
   * The consumer has gone (unsubscribed): read what is left as fast as it comes, so the server
   * sees the cancel and the session is ready soon. Drivers without it get `resume()`.
   */
  drain?(): void;
}

/**
 * The COPY side of a statement run with {@link RunOptions.copy}: the driver calls `copyOut` and
 * then `copyData` for COPY … TO STDOUT, or `copyIn` for COPY … FROM STDIN, before the sink
 * hears of the end. A statement that starts no COPY just ends through its sink.
 *
 * @category Driver seam
 */
export interface CopyHandlers {
  /** The server started sending COPY data; `control` pauses and resumes reading. */
  copyOut?(control: CopyOutControl): void;
  /** The data of one socket read: whole CopyData messages' payloads, in order. */
  copyData?(chunk: Buffer): void;
  /** The server waits for COPY data: send it through `writer`. Without this handler the driver refuses the COPY. */
  copyIn?(writer: CopyInWriter): void;
  /**
   * copyFrom()'s `types`, checked by the driver's `Driver.checkCopyTypes`: the writer
   * encodes rows in the COPY's binary format with one type per column, and the driver refuses
   * a COPY whose format or column count does not match before any row is read.
   */
  readonly binaryTypes?: readonly string[];
}

/**
 * Why a value cannot travel in a COPY row, after "row N ": undefined, a symbol or a function
 * (no SQL value), or an invalid Date. Undefined for any other value. Shared by every backend's
 * COPY encoder, so that one mistake reads the same on each.
 *
 * @category Driver seam
 */
export function unsendableCopyValue(value: unknown, column: number): string | undefined {
  switch (typeof value) {
    case 'undefined':
      return `has undefined in column ${column}: pass null for SQL NULL (undefined is usually a missing property)`;
    case 'symbol':
    case 'function':
      return `has a ${typeof value} in column ${column}, which has no SQL value`;
    default:
      return value instanceof Date && Number.isNaN(value.getTime()) ? `has an invalid Date (its time is NaN) in column ${column}` : undefined;
  }
}
