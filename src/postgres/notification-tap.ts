import type { ServerNotification } from '../driver/driver.js';

/** NotificationResponse: type byte 'A', int32 length, int32 sender pid, channel\0, payload\0. */
const NOTIFICATION = 0x41;
const HEADER = 5;

type DataListener = (chunk: Buffer) => void;

/** The socket of a pg connection, as far as the tap needs it. */
export interface TappableStream {
  listeners(event: 'data'): Function[];
  removeListener(event: 'data', listener: DataListener): unknown;
  on(event: 'data', listener: DataListener): unknown;
}

/**
 * Reads NotificationResponse messages straight off a listen session's socket, ahead of pg's
 * parser: a burst of NOTIFYs is almost all such messages, and pg would build a message object
 * and emit two events for each before rxpg saw it. The tap frames the stream itself, decodes
 * the notifications, stamps them with one clock reading per socket read (they arrived
 * together), and hands every other message to pg's parser unchanged, whole messages only and
 * in order, with the notifications before them delivered first.
 *
 * Installed once the startup has ended with ReadyForQuery and before anything is sent, when
 * pg's parser holds no partial message. Returns false (and changes nothing) if the socket does
 * not have exactly pg's one data listener.
 */
export function tapNotifications(stream: TappableStream, now: () => number, deliver: (notification: ServerNotification) => void): boolean {
  const listeners = stream.listeners('data');
  if (listeners.length !== 1) return false;
  const pgParse = listeners[0] as DataListener;
  stream.removeListener('data', pgParse);
  const reader = new MessageReader(pgParse, now, deliver);
  stream.on('data', (chunk: Buffer) => reader.read(chunk));
  return true;
}

/** Frames the socket's bytes into messages: notifications are decoded, the rest go to pg. */
class MessageReader {
  readonly #pgParse: DataListener;
  readonly #now: () => number;
  readonly #deliver: (notification: ServerNotification) => void;
  /** The start of a message the last read cut off (a copy: chunks are not kept). */
  #pending: Buffer | undefined;
  #receivedAt = -1;
  /** The last channel's bytes and name: a burst is mostly one channel, decoded once. */
  #channelBytes: Buffer = Buffer.alloc(0);
  #channel = '';

  constructor(pgParse: DataListener, now: () => number, deliver: (notification: ServerNotification) => void) {
    this.#pgParse = pgParse;
    this.#now = now;
    this.#deliver = deliver;
  }

  read(chunk: Buffer): void {
    this.#receivedAt = -1;
    let offset = 0;
    const pending = this.#pending;
    if (pending !== undefined) {
      // Complete the cut message from the head of this chunk, copying only its own bytes.
      const headerBytes = Math.max(0, HEADER - pending.length);
      const head = headerBytes > 0 ? Buffer.concat([pending, chunk.subarray(0, headerBytes)]) : pending;
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
  }

  /** Handles every whole message in `buffer` from `offset`; returns where the first cut one starts. */
  #scan(buffer: Buffer, offset: number): number {
    let forwardFrom = offset;
    while (offset + HEADER <= buffer.length) {
      const end = offset + 1 + buffer.readInt32BE(offset + 1);
      if (end > buffer.length) break;
      if (buffer[offset] === NOTIFICATION) {
        if (forwardFrom < offset) this.#pgParse(buffer.subarray(forwardFrom, offset));
        forwardFrom = end;
        this.#notification(buffer, offset + HEADER, end);
      }
      offset = end;
    }
    if (forwardFrom < offset) this.#pgParse(buffer.subarray(forwardFrom, offset));
    return offset;
  }

  /** Decodes the notification between `start` (after the header) and `end` (its last byte + 1). */
  #notification(buffer: Buffer, start: number, end: number): void {
    // Channel and payload are short: a loop finds their ends faster than indexOf's native call.
    let channelEnd = start + 4;
    while (channelEnd < end && buffer[channelEnd] !== 0) channelEnd++;
    let payloadEnd = Math.min(channelEnd + 1, end);
    while (payloadEnd < end && buffer[payloadEnd] !== 0) payloadEnd++;
    if (this.#receivedAt < 0) this.#receivedAt = this.#now();
    this.#deliver({
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
