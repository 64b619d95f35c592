import { QueryError } from '../../errors/query-error.js';

/** CopyData: type byte 'd', int32 length (counting itself), then the data. */
const COPY_DATA = 0x64;
export const COPY_DATA_HEADER = 5;
/** Bytes of rows per CopyData message: large enough that per-message costs vanish, small enough to stay in cache. */
const CHUNK_BYTES = 64 * 1024;

/**
 * What COPY's row encoders (text and binary) share: rows are written straight into the buffer
 * the socket sends, framed as CopyData messages of about 64 kB, with no joining in between.
 * A subclass writes at `at` into `buffer` after `ensure(bytes)` made room.
 */
export abstract class CopyDataEncoder {
  readonly #emit: (message: Buffer) => void;
  protected buffer: Buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  protected at = COPY_DATA_HEADER;
  /** Rows encoded so far, for error messages (1-based line numbers, as the server counts them). */
  protected line = 0;

  /** `emit` gets each whole CopyData message (header included) and owns it from then on. */
  constructor(emit: (message: Buffer) => void) {
    this.#emit = emit;
  }

  /**
   * Appends one row. Throws a {@link QueryError} (reason `data`) for a value COPY cannot carry;
   * part of the row may be buffered by then, so the COPY must be failed.
   */
  abstract row(values: readonly unknown[]): void;

  /** Sends what is buffered as one CopyData message. */
  flush(): void {
    if (this.at === COPY_DATA_HEADER) return;
    const message = this.buffer.subarray(0, this.at);
    message[0] = COPY_DATA;
    message.writeInt32BE(this.at - 1, 1);
    // A new buffer per message: reusing the ones the socket had written (its write callbacks)
    // measured no faster and grew RSS from 52 to 166 MB for 2M rows.
    this.buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    this.at = COPY_DATA_HEADER;
    this.#emit(message);
  }

  /** Ends the data: sends what is buffered (and whatever the format writes after its last row). */
  end(): void {
    this.flush();
  }

  /** Room for `bytes` more: flushes a full buffer, and grows one for a value larger than a message. */
  protected ensure(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    this.flush();
    if (COPY_DATA_HEADER + bytes > this.buffer.length) this.buffer = Buffer.allocUnsafe(COPY_DATA_HEADER + bytes);
  }

  /** The error for the current row: `problem` follows "row N of the source ". */
  protected badRow(problem: string, cause?: unknown): QueryError {
    return new QueryError('data', `copyFrom(): row ${this.line} of the source ${problem}.`, {}, { cause });
  }
}
