import type { ServerNotification } from '../driver/driver.js';

/** NotificationResponse: type byte 'A', int32 length, int32 sender pid, channel\0, payload\0. */
const NOTIFICATION = 0x41;
/** DataRow: type byte 'D', int32 length, int16 column count, per column int32 length (-1: NULL) and bytes. */
const DATA_ROW = 0x44;
/** CopyData: type byte 'd', int32 length, the data (one row per message in a COPY … TO). */
const COPY_DATA = 0x64;
const HEADER = 5;
/** A message's length counts its own four bytes: anything less is not the protocol. */
const MIN_LENGTH = 4;

/** What the tap takes off pg's hands. */
export interface TapHandlers {
  /** Every notification, decoded; without it notifications go to pg. */
  readonly notification?: (notification: ServerNotification) => void;
  /**
   * A DataRow, between `start` (after the header) and `end`: returns true when it consumed
   * the row (see {@link readDataRow}), false to hand it to pg as usual.
   */
  readonly dataRow?: (buffer: Buffer, start: number, end: number) => boolean;
  /** A CopyData message's payload, between `start` and `end`: true when it consumed it, false to hand it to pg. */
  readonly copyData?: (buffer: Buffer, start: number, end: number) => boolean;
  /** Called after each socket read (of `bytes` bytes) has been framed: COPY data gathered during the read goes on as one chunk. */
  readonly readEnd?: (bytes: number) => void;
}

/**
 * The values of the DataRow that starts at `start` (after the header), in text format, each
 * passed through its column's parser (none: the text itself). pg-protocol reads them the same
 * way, as UTF-8 strings, NULL as null.
 */
export function readDataRow(buffer: Buffer, start: number, parsers?: readonly ((text: string) => unknown)[]): unknown[] {
  const count = buffer.readInt16BE(start);
  const values: unknown[] = new Array(count);
  let offset = start + 2;
  for (let index = 0; index < count; index++) {
    const length = buffer.readInt32BE(offset);
    offset += 4;
    if (length < 0) {
      values[index] = null;
    } else {
      const text = buffer.toString('utf8', offset, offset + length);
      values[index] = parsers === undefined ? text : parsers[index](text);
      offset += length;
    }
  }
  return values;
}

type DataListener = (chunk: Buffer) => void;

/** The socket of a pg connection, as far as the tap needs it: checked, never assumed. */
interface TappableStream {
  listeners(event: 'data'): Function[];
  removeListener(event: 'data', listener: DataListener): unknown;
  on(event: 'data', listener: DataListener): unknown;
  destroy?(error: Error): unknown;
}

function isTappable(stream: unknown): stream is TappableStream {
  const candidate = stream as Partial<Record<keyof TappableStream, unknown>> | null | undefined;
  return typeof candidate?.listeners === 'function' && typeof candidate.removeListener === 'function' && typeof candidate.on === 'function';
}

/**
 * Puts a tap in front of the one `data` listener of `stream` (pg's protocol parser). Install it
 * before the stream carries its first byte, so that pg's parser is only ever handed whole
 * messages and can never hold a partial one the tap does not know of: pg attaches its parser to
 * the socket when it connects (and to the TLS socket when it upgrades) and the server speaks
 * only after that, so the connection's `connect` (or `sslconnect`) event is such a moment.
 * Returns the tap, or why it stood aside and changed nothing (the stream does not look as the
 * tap expects).
 */
export function tapMessages(stream: unknown, now: () => number): MessageReader | { readonly refused: string } {
  if (!isTappable(stream)) return { refused: "pg's socket has no listeners/on/removeListener methods" };
  const listeners = stream.listeners('data');
  if (listeners.length !== 1) return { refused: `pg's socket has ${listeners.length} data listeners where the tap expects exactly pg's parser` };
  const pgParse = listeners[0] as DataListener;
  stream.removeListener('data', pgParse);
  const fail = typeof stream.destroy === 'function' ? (error: Error) => stream.destroy?.(error) : undefined;
  const reader = new MessageReader(pgParse, now, fail);
  stream.on('data', (chunk: Buffer) => {
    try {
      reader.read(chunk);
    } catch (error) {
      // pg's parser throws on some bytes that are not the protocol (pg-protocol 1.6 on an unknown
      // message type): out of a socket listener that would crash the process. End the session.
      if (fail === undefined) throw error;
      reader.abort();
      fail(error instanceof Error ? error : new Error(String(error)));
    }
  });
  return reader;
}

/**
 * Frames the socket's bytes into messages: the handlers take theirs, the rest go to pg, whole
 * messages only. Until {@link MessageReader.handle} is called (during the startup) every
 * message goes to pg.
 */
export class MessageReader {
  readonly #pgParse: DataListener;
  readonly #now: () => number;
  /** Ends the session with an error (the socket's `destroy`), when the stream is not the protocol. */
  readonly #fail: ((error: Error) => void) | undefined;
  #deliver: ((notification: ServerNotification) => void) | undefined;
  #dataRow: ((buffer: Buffer, start: number, end: number) => boolean) | undefined;
  #copyData: ((buffer: Buffer, start: number, end: number) => boolean) | undefined;
  #readEnd: ((bytes: number) => void) | undefined;
  /** The start of a message the last read cut off (a copy: chunks are not kept). */
  #pending: Buffer | undefined;
  #receivedAt = -1;
  /** False once a length showed that the stream is not framed as the protocol says. */
  #framing = true;
  /** The last channel's bytes and name: a burst is mostly one channel, decoded once. */
  #channelBytes: Buffer = Buffer.alloc(0);
  #channel = '';

  constructor(pgParse: DataListener, now: () => number, fail?: (error: Error) => void) {
    this.#pgParse = pgParse;
    this.#now = now;
    this.#fail = fail;
  }

  /** Reads nothing more: the session is being ended. */
  abort(): void {
    this.#framing = false;
    this.#pending = undefined;
  }

  /** From now on, these messages go to `handlers` instead of pg. */
  handle(handlers: TapHandlers): void {
    this.#deliver = handlers.notification;
    this.#dataRow = handlers.dataRow;
    this.#copyData = handlers.copyData;
    this.#readEnd = handlers.readEnd;
  }

  read(chunk: Buffer): void {
    if (!this.#framing) {
      if (this.#fail === undefined) this.#pgParse(chunk);
      return;
    }
    this.#receivedAt = -1;
    let offset = 0;
    const pending = this.#pending;
    if (pending !== undefined) {
      // Complete the cut message from the head of this chunk, copying only its own bytes.
      const headerBytes = Math.max(0, HEADER - pending.length);
      const head = headerBytes > 0 ? Buffer.concat([pending, chunk.subarray(0, headerBytes)]) : pending;
      if (head.length >= HEADER && head.readInt32BE(1) < MIN_LENGTH) {
        this.#pending = undefined;
        this.#stopFraming(Buffer.concat([pending, chunk]));
        return;
      }
      const missing = head.length < HEADER ? Infinity : 1 + head.readInt32BE(1) - pending.length;
      if (chunk.length < missing) {
        this.#pending = Buffer.concat([pending, chunk]);
        return;
      }
      this.#pending = undefined;
      this.#scan(Buffer.concat([pending, chunk.subarray(0, missing)]), 0);
      offset = missing;
    }
    const end = this.#scan(chunk, offset);
    if (end < chunk.length) this.#pending = Buffer.from(chunk.subarray(end));
    this.#readEnd?.(chunk.length);
  }

  /** Handles every whole message in `buffer` from `offset`; returns where the first cut one starts. */
  #scan(buffer: Buffer, offset: number): number {
    let forwardFrom = offset;
    while (offset + HEADER <= buffer.length) {
      const length = buffer.readInt32BE(offset + 1);
      if (length < MIN_LENGTH) {
        // The whole messages before it are pg's, as they would have been.
        if (forwardFrom < offset) this.#pgParse(buffer.subarray(forwardFrom, offset));
        this.#stopFraming(buffer.subarray(offset));
        return buffer.length;
      }
      const end = offset + 1 + length;
      if (end > buffer.length) break;
      const type = buffer[offset];
      if (type === DATA_ROW && this.#dataRow !== undefined) {
        // pg must have seen everything before the row (its RowDescription) first.
        if (forwardFrom < offset) this.#pgParse(buffer.subarray(forwardFrom, offset));
        forwardFrom = offset;
        if (this.#dataRow(buffer, offset + HEADER, end)) forwardFrom = end;
      } else if (type === COPY_DATA && this.#copyData !== undefined) {
        if (forwardFrom < offset) this.#pgParse(buffer.subarray(forwardFrom, offset));
        forwardFrom = offset;
        if (this.#copyData(buffer, offset + HEADER, end)) forwardFrom = end;
      } else if (type === NOTIFICATION && this.#deliver !== undefined) {
        if (forwardFrom < offset) this.#pgParse(buffer.subarray(forwardFrom, offset));
        forwardFrom = end;
        this.#notification(this.#deliver, buffer, offset + HEADER, end);
      }
      offset = end;
    }
    if (forwardFrom < offset) this.#pgParse(buffer.subarray(forwardFrom, offset));
    return offset;
  }

  /**
   * What arrives is not the Postgres protocol, or not in step with it (a length below 4: the
   * wrong server on that port, say). Stop framing for good and end the session with an error:
   * pg's own parser throws out of the socket's listener on such lengths, which would crash the
   * process. Only a stream that cannot be ended gets `rest` handed to pg. Never loop, never throw.
   */
  #stopFraming(rest: Buffer): void {
    this.#framing = false;
    if (this.#fail) this.#fail(new Error('the server does not speak the PostgreSQL protocol (a message length below 4)'));
    else if (rest.length > 0) this.#pgParse(rest);
  }

  /** Decodes the notification between `start` (after the header) and `end` (its last byte + 1). */
  #notification(deliver: (notification: ServerNotification) => void, buffer: Buffer, start: number, end: number): void {
    // Channel and payload are short: a loop finds their ends faster than indexOf's native call.
    let channelEnd = start + 4;
    while (channelEnd < end && buffer[channelEnd] !== 0) channelEnd++;
    let payloadEnd = Math.min(channelEnd + 1, end);
    while (payloadEnd < end && buffer[payloadEnd] !== 0) payloadEnd++;
    if (this.#receivedAt < 0) this.#receivedAt = this.#now();
    deliver({
      channel: this.#channelName(buffer, start + 4, channelEnd),
      payload: buffer.toString('utf8', channelEnd + 1, payloadEnd),
      processId: buffer.readInt32BE(start),
      receivedAt: this.#receivedAt,
    });
  }

  #channelName(buffer: Buffer, start: number, end: number): string {
    const known = this.#channelBytes;
    if (known.length === end - start) {
      let index = 0;
      while (index < known.length && known[index] === buffer[start + index]) index++;
      if (index === known.length) return this.#channel;
    }
    this.#channelBytes = Buffer.from(buffer.subarray(start, end));
    this.#channel = buffer.toString('utf8', start, end);
    return this.#channel;
  }
}
