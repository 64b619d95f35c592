import type { CopyHandlers, CopyOutControl } from '../../driver/copy-handlers.js';
import type { CopySocket } from './pg-copy-in-writer.js';

/**
 * Gathers the payloads of a COPY … TO STDOUT's CopyData messages and hands them on once per
 * socket read, as one Buffer: the server sends one message per row, and a Buffer (and an RxJS
 * emission) per row would cost more than the row. Pausing stops the socket's reads after the
 * current one, so a busy consumer holds the server back instead of piling data up in memory.
 */
export class CopyOutCollector {
  readonly #handlers: CopyHandlers;
  readonly #socket: CopySocket;
  #parts: Buffer[] = [];
  #bytes = 0;
  #paused = false;
  /** After the statement's end reading never pauses: the session may serve the next statement. */
  #ended = false;

  constructor(handlers: CopyHandlers, socket: CopySocket) {
    this.#handlers = handlers;
    this.#socket = socket;
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
      this.#socket.resume();
    },
  };

  /** One CopyData payload; kept by reference (the socket's buffers are not reused). */
  add(payload: Buffer): void {
    this.#parts.push(payload);
    this.#bytes += payload.length;
  }

  /** Hands on what was gathered since the last flush, if anything. */
  flush(): void {
    if (this.#bytes === 0) {
      this.#parts.length = 0;
      return;
    }
    const parts = this.#parts;
    const chunk = parts.length === 1 ? parts[0] : Buffer.concat(parts, this.#bytes);
    this.#parts = [];
    this.#bytes = 0;
    this.#handlers.copyData?.(chunk);
  }

  /** The statement ended: reading goes on for whoever uses the session next. */
  end(): void {
    this.flush();
    this.#ended = true;
    this.control.resume();
  }
}
