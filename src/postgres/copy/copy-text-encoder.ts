import pgUtils from 'pg/lib/utils.js';
import { QueryError } from '../../errors/query-error.js';

const { prepareValue } = pgUtils;

/** CopyData: type byte 'd', int32 length (counting itself), then the data. */
const COPY_DATA = 0x64;
export const COPY_DATA_HEADER = 5;
/** Bytes of rows per CopyData message: large enough that per-message costs vanish, small enough to stay in cache. */
const CHUNK_BYTES = 64 * 1024;
/** The characters the server's COPY TO text output escapes (CopyAttributeOutText): backslash and \b \t \n \v \f \r. */
const NEEDS_ESCAPE = /[\\\x08-\x0d]/;
const ESCAPES = /[\\\x08-\x0d]/g;
const ESCAPED: Readonly<Record<string, string>> = { '\\': '\\\\', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\v': '\\v', '\f': '\\f', '\r': '\\r' };
const escapeChar = (char: string): string => ESCAPED[char];
const TAB = 0x09;
const NEWLINE = 0x0a;

/**
 * Encodes rows (arrays of values) in COPY's text format straight into CopyData messages, so
 * that rows are written into the buffer the socket sends, with no string joining in between.
 * Each field is escaped as the server's own COPY … TO text output escapes it; `null` is `\N`;
 * a string is sent as it is, a number or bigint as its decimal text, a boolean as `true` or
 * `false`, and a Date, Buffer, array or object as pg binds it as a parameter (pg's
 * `prepareValue`: local time with its offset, `\x` hex, an array literal, JSON).
 */
export class CopyTextEncoder {
  readonly #emit: (message: Buffer) => void;
  #buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  #at = COPY_DATA_HEADER;
  /** Rows encoded so far, for error messages (1-based line numbers, as the server counts them). */
  #line = 0;

  /** `emit` gets each whole CopyData message (header included) and owns it from then on. */
  constructor(emit: (message: Buffer) => void) {
    this.#emit = emit;
  }

  /**
   * Appends one row. Throws a {@link QueryError} (reason `data`) for a value COPY cannot carry;
   * part of the row may be buffered by then, so the COPY must be failed.
   */
  row(values: readonly unknown[]): void {
    this.#line++;
    const count = values.length;
    if (count === 0) throw this.#badRow('is an empty array: a row needs at least one value');
    for (let index = 0; index < count; index++) {
      const value = values[index];
      // A row may be split across CopyData messages: the server joins them.
      if (typeof value === 'string') this.#text(value);
      else if (typeof value === 'number') this.#ascii(String(value));
      else if (value === null) this.#ascii('\\N');
      else this.#other(value, index);
      this.#ensure(1);
      this.#buffer[this.#at++] = index === count - 1 ? NEWLINE : TAB;
    }
  }

  /** Sends what is buffered as one CopyData message. */
  flush(): void {
    if (this.#at === COPY_DATA_HEADER) return;
    const message = this.#buffer.subarray(0, this.#at);
    message[0] = COPY_DATA;
    message.writeInt32BE(this.#at - 1, 1);
    this.#buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    this.#at = COPY_DATA_HEADER;
    this.#emit(message);
  }

  #text(text: string): void {
    const escaped = NEEDS_ESCAPE.test(text) ? text.replace(ESCAPES, escapeChar) : text;
    // UTF-8 needs at most three bytes per UTF-16 unit.
    this.#ensure(escaped.length * 3);
    this.#at += this.#buffer.write(escaped, this.#at, 'utf8');
  }

  #ascii(text: string): void {
    this.#ensure(text.length);
    this.#at += this.#buffer.write(text, this.#at, 'latin1');
  }

  #other(value: unknown, index: number): void {
    switch (typeof value) {
      case 'bigint':
        return this.#ascii(value.toString());
      case 'boolean':
        return this.#ascii(value ? 'true' : 'false');
      case 'undefined':
        throw this.#badRow(`has undefined in column ${index + 1}: pass null for SQL NULL (undefined is usually a missing property)`);
      case 'symbol':
      case 'function':
        throw this.#badRow(`has a ${typeof value} in column ${index + 1}, which has no SQL value`);
      default:
        break;
    }
    if (value instanceof Date && Number.isNaN(value.getTime())) throw this.#badRow(`has an invalid Date (its time is NaN) in column ${index + 1}`);
    let prepared: unknown;
    try {
      prepared = prepareValue(value);
    } catch (error) {
      throw this.#badRow(`has a value in column ${index + 1} that could not be encoded: ${error instanceof Error ? error.message : String(error)}`, error);
    }
    if (prepared === null) return this.#ascii('\\N');
    // bytea's hex form, its backslash escaped as every backslash of COPY text.
    if (Buffer.isBuffer(prepared)) return this.#ascii(`\\\\x${prepared.toString('hex')}`);
    this.#text(String(prepared));
  }

  /** Room for `bytes` more: flushes a full buffer, and grows one for a value larger than a message. */
  #ensure(bytes: number): void {
    if (this.#at + bytes <= this.#buffer.length) return;
    this.flush();
    if (COPY_DATA_HEADER + bytes > this.#buffer.length) this.#buffer = Buffer.allocUnsafe(COPY_DATA_HEADER + bytes);
  }

  #badRow(problem: string, cause?: unknown): QueryError {
    return new QueryError('data', `copyFrom(): row ${this.#line} of the source ${problem}.`, {}, { cause });
  }
}
