import type { CopyInValue, CopyInWriter } from '../../driver/copy-handlers.js';
import { QueryError } from '../../errors/query-error.js';
import type { CopyBinaryType } from '../../manager/copy-options.js';
import { CopyBinaryEncoder } from './copy-binary-encoder.js';
import { COPY_DATA_HEADER, type CopyDataEncoder } from './copy-data-encoder.js';
import { CopyTextEncoder } from './copy-text-encoder.js';

/** What a CopyInResponse says of the data it waits for: binary or text (and csv), and how many columns. */
export interface CopyInFormat {
  readonly binary: boolean;
  /** -1 when pg did not pass the column list on. */
  readonly columns: number;
}

/** The socket under pg's connection, as far as COPY writes to it: checked, never assumed (see {@link copySocketOf}). */
export interface CopySocket {
  write(chunk: Buffer): boolean;
  readonly writableNeedDrain: boolean;
  once(event: 'drain', listener: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
  cork?(): void;
  uncork?(): void;
  /** Bytes read off the socket that its stream has not handed on yet (a paused stream keeps them). */
  readonly readableLength?: number;
  /** True on a TLS socket, whose reads are one TLS record each (16 kB at most), however much waits. */
  readonly encrypted?: boolean;
}

/** pg's socket as a {@link CopySocket}, or undefined when it lacks a member COPY needs. */
export function copySocketOf(stream: unknown): CopySocket | undefined {
  const candidate = stream as Partial<Record<keyof CopySocket, unknown>> | null | undefined;
  return typeof candidate?.write === 'function' &&
    typeof candidate.writableNeedDrain === 'boolean' &&
    typeof candidate.once === 'function' &&
    typeof candidate.pause === 'function' &&
    typeof candidate.resume === 'function'
    ? (candidate as CopySocket)
    : undefined;
}

const COPY_DONE = Buffer.from([0x63, 0, 0, 0, 4]);
const COPY_FAIL = 0x66;

/**
 * Writes a COPY … FROM STDIN's data to the socket as CopyData messages: rows through the text
 * encoder, or the binary one when copyFrom() was given `types`; chunks as they are (a header,
 * then the caller's bytes, without copying them). `write` reports the socket's demand: false
 * once Node's write buffer is above its high-water mark, so a source is pulled only as fast as
 * the server takes the data.
 */
export class PgCopyInWriter implements CopyInWriter {
  readonly #socket: CopySocket;
  readonly #encoder: CopyDataEncoder;
  readonly #afterData: () => void;
  /** Rows go in the binary format (`types` given): chunks would break its framing. */
  readonly #binaryRows: boolean;
  /** The COPY reads binary and no `types` were given: rows cannot be encoded, chunks go as they are. */
  readonly #binaryChunksOnly: boolean;
  /** Set once the data ended (CopyDone or CopyFail sent) or the server ended the COPY: nothing more goes out. */
  #closed = false;

  /**
   * `afterData` runs after CopyDone or CopyFail went out (by the extended protocol, a Flush: see
   * PgStatement). `types` (checked, one per column) encode rows in the binary format; `binary`
   * is the COPY's own format, where pg said it.
   */
  constructor(socket: CopySocket, afterData: () => void = () => {}, types?: readonly string[], binary?: boolean) {
    this.#socket = socket;
    this.#afterData = afterData;
    const emit = (message: Buffer): void => void this.#socket.write(message);
    this.#binaryRows = types !== undefined;
    this.#binaryChunksOnly = types === undefined && binary === true;
    this.#encoder = types === undefined ? new CopyTextEncoder(emit) : new CopyBinaryEncoder(types as readonly CopyBinaryType[], emit);
  }

  write(value: CopyInValue): boolean {
    if (this.#closed) return true;
    if (Array.isArray(value)) {
      if (this.#binaryChunksOnly) {
        throw new QueryError(
          'data',
          "copyFrom(): the source emitted a row (an array) for a COPY … (FORMAT binary), and rows need each column's type to be encoded in that format: " +
            "pass types (copyFrom(sql, rows, { types: ['int4', 'text', …] })), or drop FORMAT binary to send rows as text.",
          {},
        );
      }
      this.#encoder.row(value);
    } else if (this.#binaryRows) {
      throw new QueryError(
        'data',
        `copyFrom(): the source emitted ${typeof value === 'string' ? 'a string' : value instanceof Uint8Array ? 'a Buffer' : value === null ? 'null' : typeof value} while types were given: with types it may emit rows (arrays of values) only, which rxpg encodes in COPY's binary format. Send data of your own without types.`,
        {},
      );
    } else if (typeof value === 'string') {
      if (value.length > 0) this.#chunk(Buffer.from(value, 'utf8'));
    } else if (value instanceof Uint8Array) {
      if (value.length > 0) this.#chunk(value);
    } else {
      throw new QueryError(
        'data',
        `copyFrom(): the source emitted ${value === null ? 'null' : typeof value}; it may emit Buffers or strings (data in the COPY's format, sent as they are) or rows as arrays of values.`,
        {},
      );
    }
    return !this.#socket.writableNeedDrain;
  }

  onDrain(callback: () => void): void {
    if (this.#closed || !this.#socket.writableNeedDrain) callback();
    else this.#socket.once('drain', callback);
  }

  end(): void {
    if (this.#closed) return;
    this.#encoder.end();
    this.#closed = true;
    this.#socket.write(COPY_DONE);
    this.#afterData();
  }

  fail(message: string): void {
    if (this.#closed) return;
    this.#closed = true;
    // Rows still in the encoder are dropped: the server discards the COPY anyway.
    const text = Buffer.from(`${message.replaceAll('\0', ' ')}\0`, 'utf8');
    const header = Buffer.allocUnsafe(5);
    header[0] = COPY_FAIL;
    header.writeInt32BE(4 + text.length, 1);
    this.#socket.write(Buffer.concat([header, text]));
    this.#afterData();
  }

  /** The server ended the COPY (an error): later writes are dropped, as the server would drop them. */
  close(): void {
    this.#closed = true;
  }

  /** Whether the data has ended (CopyDone or CopyFail sent, or the server ended the COPY). */
  get closed(): boolean {
    return this.#closed;
  }

  #chunk(bytes: Uint8Array): void {
    // Rows encoded before this chunk go first.
    this.#encoder.flush();
    const header = Buffer.allocUnsafe(COPY_DATA_HEADER);
    header[0] = 0x64;
    header.writeInt32BE(4 + bytes.length, 1);
    this.#socket.cork?.();
    this.#socket.write(header);
    this.#socket.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    this.#socket.uncork?.();
  }
}
