import type { CopyHandlers, CopyOutControl } from '../../driver/copy-handlers.js';
import type { CopySocket } from './pg-copy-in-writer.js';

/** A CopyData message's header: type byte 'd' and int32 length, before the payload. */
const HEADER = 5;

/**
 * A socket read of fewer bytes than this was not a full one (Node reads up to 64 kB at a time):
 * the data comes about as fast as it is read, and the next read waits (see `readEnded`).
 */
const SHORT_READ = 32 * 1024;
/** How long reading waits after a short read: one timer tick, the shortest Node has. */
const COALESCE_MILLIS = 1;

/**
 * Gathers the payloads of a COPY … TO STDOUT's CopyData messages and hands them on once per
 * socket read, as one Buffer: the server sends one message per row, and a Buffer (and an RxJS
 * emission) per row would cost more than the row. Pausing stops the socket's reads after the
 * current one, so a busy consumer holds the server back instead of piling data up in memory.
 *
 * In place (the message tap's reads, which nothing else reads): the messages of one read lie
 * back to back in the socket's chunk, and the collector moves their payloads together over
 * their headers, inside the bytes those messages took, and hands on a view of the chunk. No
 * Buffer per row, no copy of the read: a Buffer object per row was most of copyTo()'s garbage
 * (the young generation grew by 20 MB of them) and a good part of its time. Node gives each read
 * a chunk of its own and never reuses it, so a view handed on stays as it was.
 */
export class CopyOutCollector {
  readonly #handlers: CopyHandlers;
  readonly #socket: CopySocket;
  /** False: payloads are kept by reference where they are, and joined into a new Buffer. */
  readonly #inPlace: boolean;
  /** Gathered ahead of the run, in order: payloads in other Buffers, and runs already closed. */
  #parts: Buffer[] = [];
  #partBytes = 0;
  /** The run: whole CopyData messages back to back in `#chunk`, from `#runStart` (a header) to `#runEnd`. */
  #chunk: Buffer | undefined;
  #runStart = 0;
  #runEnd = 0;
  /** The run's payloads, start and end of each (reused from read to read). */
  #bounds = new Int32Array(4096);
  #count = 0;
  #paused = false;
  /** Reading waits after a short read (see `readEnded`); resumed when the timer fires, if nothing else paused it. */
  #coalescing: ReturnType<typeof setTimeout> | undefined;
  /**
   * Whether a short read may make reading wait: not on TLS, whose reads are one record each
   * (16 kB at most) however much is waiting, and not once the consumer has gone (the rest is
   * read as fast as it comes, so the cancel ends the COPY soon).
   */
  #mayWait: boolean;
  /** After the statement's end reading never pauses: the session may serve the next statement. */
  #ended = false;

  /**
   * `inPlace`: the chunks given to {@link CopyOutCollector.add} are the collector's to rewrite
   * where their CopyData messages lie (nobody else reads them once framed).
   */
  constructor(handlers: CopyHandlers, socket: CopySocket, inPlace: boolean) {
    this.#handlers = handlers;
    this.#socket = socket;
    this.#inPlace = inPlace;
    this.#mayWait = socket.encrypted !== true;
  }

  /** The control the consumer pauses and resumes reading with. */
  readonly control: CopyOutControl = {
    pause: () => {
      if (this.#paused || this.#ended) return;
      this.#paused = true;
      this.#socket.pause();
    },
    resume: () => {
      if (!this.#paused) return;
      this.#paused = false;
      if (this.#coalescing === undefined) this.#socket.resume();
    },
    drain: () => {
      this.#mayWait = false;
      this.#paused = false;
      this.#stopWaiting();
      this.#socket.resume();
    },
  };

  /**
   * One whole CopyData message's payload, `buffer` from `start` to `end`, its header in the 5
   * bytes before `start`. Not copied: in place, it joins the run when it follows the run's last
   * message; otherwise it is kept by reference (the socket's buffers are not reused).
   */
  add(buffer: Buffer, start: number, end: number): void {
    if (!this.#inPlace) {
      this.#pushPart(buffer.subarray(start, end));
      return;
    }
    if (buffer !== this.#chunk || start - HEADER !== this.#runEnd) {
      this.#closeRun();
      this.#chunk = buffer;
      this.#runStart = start - HEADER;
      this.#count = 0;
    }
    if (this.#count * 2 === this.#bounds.length) {
      const grown = new Int32Array(this.#bounds.length * 2);
      grown.set(this.#bounds);
      this.#bounds = grown;
    }
    this.#bounds[this.#count * 2] = start;
    this.#bounds[this.#count * 2 + 1] = end;
    this.#count++;
    this.#runEnd = end;
  }

  /** A payload in a Buffer of its own (a copy), kept as it is. */
  addOwn(payload: Buffer): void {
    this.#closeRun();
    this.#pushPart(payload);
  }

  /**
   * The end of a socket read of `bytes` bytes. What it gathered is handed on, and after a short
   * read (the copy still running, nothing more read and waiting in the socket's stream) the
   * socket is not read again for one timer tick.
   *
   * The server is what bounds a COPY … TO: it spends more on the rows than the client does. A
   * client that reads each 8 kB the server sends as it arrives makes the server wake it for every
   * send, and those wakeups cost the server about a sixth of its CPU (5M rows: server CPU 1.26 s
   * read this way against 1.50–1.62 s read at once; 5,700 reads instead of 37,000, and the
   * client's own CPU 790 → 470 ms). The server never waits on it: the socket's receive buffer
   * takes what comes in a tick, and the reads after the tick are full ones, which do not wait.
   */
  readEnded(bytes: number): void {
    const handed = this.flush();
    if (!this.#mayWait || this.#ended || this.#coalescing !== undefined || handed === 0 || bytes >= SHORT_READ) return;
    if ((this.#socket.readableLength ?? 0) > 0) return;
    this.#socket.pause();
    this.#coalescing = setTimeout(() => {
      this.#coalescing = undefined;
      if (!this.#paused) this.#socket.resume();
    }, COALESCE_MILLIS);
  }

  /** Hands on what was gathered since the last flush, if anything; returns its size in bytes. */
  flush(): number {
    let chunk: Buffer | undefined;
    if (this.#chunk !== undefined) {
      const run = this.#compactRun();
      const before = run.byteOffset - this.#chunk.byteOffset;
      if (this.#partBytes === 0) chunk = run;
      else if (this.#partBytes <= before - this.#runStart) {
        // A row the last read cut off (completed in a Buffer of its own) goes in front of the
        // run, into the headers' bytes the run gave up: one view still, nothing allocated.
        let at = before - this.#partBytes;
        for (const part of this.#parts) at += part.copy(this.#chunk, at);
        chunk = this.#chunk.subarray(before - this.#partBytes, this.#runEnd);
      } else {
        this.#parts.push(run);
        this.#partBytes += run.length;
      }
      this.#chunk = undefined;
    }
    if (chunk === undefined && this.#partBytes > 0) {
      chunk = this.#parts.length === 1 ? this.#parts[0] : Buffer.concat(this.#parts, this.#partBytes);
    }
    this.#parts = [];
    this.#partBytes = 0;
    if (chunk === undefined || chunk.length === 0) return 0;
    this.#handlers.copyData?.(chunk);
    return chunk.length;
  }

  /** The statement ended: reading goes on for whoever uses the session next. */
  end(): void {
    this.flush();
    this.#ended = true;
    // The timer must not resume the socket later, when the next statement may have paused it.
    if (this.#stopWaiting() && !this.#paused) this.#socket.resume();
    this.control.resume();
  }

  /** Ends a short read's wait, if one runs (true then): the timer will not fire. */
  #stopWaiting(): boolean {
    if (this.#coalescing === undefined) return false;
    clearTimeout(this.#coalescing);
    this.#coalescing = undefined;
    return true;
  }

  #pushPart(part: Buffer): void {
    this.#parts.push(part);
    this.#partBytes += part.length;
  }

  /** A message that does not follow the run starts another: the run so far becomes a part. */
  #closeRun(): void {
    if (this.#chunk === undefined) return;
    this.#pushPart(this.#compactRun());
    this.#chunk = undefined;
  }

  /**
   * Moves the run's payloads together towards its end, over the headers between them, last
   * first (so no payload is overwritten before it moved), and returns the view of them. Only
   * the run's own bytes change.
   */
  #compactRun(): Buffer {
    const chunk = this.#chunk as Buffer;
    const bounds = this.#bounds;
    let write = this.#runEnd;
    for (let index = this.#count - 1; index >= 0; index--) {
      const start = bounds[index * 2];
      const end = bounds[index * 2 + 1];
      write -= end - start;
      if (write !== start) chunk.copyWithin(write, start, end);
    }
    this.#count = 0;
    return chunk.subarray(write, this.#runEnd);
  }
}
