import { Readable } from 'node:stream';
import { unsendableCopyValue, type CopyInValue, type CopyInWriter } from '../../driver/copy-handlers.js';
import { QueryError } from '../../errors/query-error.js';

/** Bytes of rows per chunk handed to mysql2. */
const CHUNK_BYTES = 64 * 1024;
/** What LOAD DATA's default `FIELDS ESCAPED BY '\\'` reads as escapes: backslash, NUL, tab, newline, carriage return. */
const NEEDS_ESCAPE = /[\\\0\t\n\r]/;
const ESCAPES = /[\\\0\t\n\r]/g;
const ESCAPED: Readonly<Record<string, string>> = { '\\': '\\\\', '\0': '\\0', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const escapeText = (text: string): string => (NEEDS_ESCAPE.test(text) ? text.replace(ESCAPES, (char) => ESCAPED[char]) : text);
const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/**
 * Feeds a `LOAD DATA LOCAL INFILE` from copyFrom()'s source: the Readable mysql2 asks for
 * (`infileStreamFactory`) gets chunks as they are and rows encoded in LOAD DATA's default format
 * (tab-separated, `\N` for NULL, backslash escapes; a Date as mysql2 binds one, in local time; a
 * boolean as 1 or 0; an array or object as JSON; bytes are refused). mysql2 pauses the
 * Readable while the socket's buffer is full, so demand is the Readable's own: `write` is false
 * once it holds a chunk nobody read, and the source goes on when mysql2 reads again.
 * MySQL has no CopyFail: `fail` stops the statement with `KILL QUERY` first and then ends the
 * data, so the server rolls the load back instead of keeping the rows sent so far.
 */
export class LoadDataWriter implements CopyInWriter {
  /** What mysql2 reads; its first read (once mysql2 listens) starts the source. */
  readonly readable: Readable;
  readonly #kill: (done: () => void) => void;
  #text = '';
  #line = 0;
  #closed = false;
  /** False once the Readable holds more than it wants: the source waits for mysql2's next read. */
  #room = true;
  #whenRead: (() => void) | undefined;

  constructor(kill: (done: () => void) => void, start: (writer: LoadDataWriter) => void) {
    this.#kill = kill;
    let started = false;
    this.readable = new Readable({
      read: () => {
        this.#room = true;
        if (!started) {
          started = true;
          start(this);
          return;
        }
        const waiting = this.#whenRead;
        this.#whenRead = undefined;
        waiting?.();
      },
    });
  }

  write(value: CopyInValue): boolean {
    if (this.#closed) return true;
    if (Array.isArray(value)) {
      this.#row(value);
      if (this.#text.length >= CHUNK_BYTES) this.#flush();
    } else if (typeof value === 'string' || value instanceof Uint8Array) {
      this.#flush();
      if (value.length > 0) this.#push(typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value));
    } else {
      throw new QueryError(
        'data',
        `copyFrom(): the source emitted ${value === null ? 'null' : typeof value}; it may emit Buffers or strings (data in LOAD DATA's format, sent as they are) or rows as arrays of values.`,
        {},
      );
    }
    return this.#room;
  }

  onDrain(callback: () => void): void {
    if (this.#closed || this.#room) callback();
    else this.#whenRead = callback;
  }

  end(): void {
    if (this.#closed) return;
    this.#flush();
    this.#closed = true;
    this.readable.push(null);
  }

  fail(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#text = '';
    this.#kill(() => this.readable.push(null));
  }

  /** The statement ended (an error): later writes are dropped. */
  close(): void {
    this.#closed = true;
  }

  get closed(): boolean {
    return this.#closed;
  }

  #flush(): void {
    if (this.#text.length === 0) return;
    this.#push(Buffer.from(this.#text, 'utf8'));
    this.#text = '';
  }

  #push(chunk: Buffer): void {
    if (!this.readable.push(chunk)) this.#room = false;
  }

  #row(values: readonly unknown[]): void {
    this.#line++;
    let line = '';
    for (let index = 0; index < values.length; index++) {
      if (index > 0) line += '\t';
      line += this.#field(values[index], index);
    }
    this.#text += `${line}\n`;
  }

  #field(value: unknown, index: number): string {
    switch (typeof value) {
      case 'string':
        return escapeText(value);
      case 'number':
        // A finite number through JSON.stringify, the same text as String() by the language:
        // String() keeps each new text in V8's number-string cache, in the old generation (see
        // the Postgres COPY encoder).
        return Number.isFinite(value) && !Number.isInteger(value) ? JSON.stringify(value) : String(value);
      case 'bigint':
        return String(value);
      case 'boolean':
        return value ? '1' : '0';
      case 'undefined':
      case 'symbol':
      case 'function':
        throw this.#badRow(unsendableCopyValue(value, index + 1) as string);
      default:
        break;
    }
    if (value === null) return '\\N';
    if (value instanceof Date) {
      if (Number.isNaN(value.getTime())) throw this.#badRow(unsendableCopyValue(value, index + 1) as string);
      return `${pad(value.getFullYear(), 4)}-${pad(value.getMonth() + 1)}-${pad(value.getDate())} ${pad(value.getHours())}:${pad(value.getMinutes())}:${pad(value.getSeconds())}.${pad(value.getMilliseconds(), 3)}`;
    }
    if (value instanceof Uint8Array) {
      throw this.#badRow(`has bytes in column ${index + 1}, which rows cannot carry to LOAD DATA as text: send them hex-encoded with SET col = UNHEX(@col) in the statement`);
    }
    return escapeText(JSON.stringify(value));
  }

  #badRow(problem: string): QueryError {
    return new QueryError('data', `copyFrom(): row ${this.#line} of the source ${problem}.`, {});
  }
}
