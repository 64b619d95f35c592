/** The messages {@link FrontendMessages} builds: those of the extended protocol and a simple Query. */
export interface MessageWriter {
  query(text: string): void;
  parse(config: { text: string; name?: string; types?: readonly number[] }): void;
  bind(config: { portal?: string; statement?: string; values: readonly (string | Buffer | null)[] }): void;
  describe(config: { type: 'P' | 'S'; name?: string }): void;
  execute(config: { portal?: string; rows?: number }): void;
  close(config: { type: 'P' | 'S'; name?: string }): void;
  flush(): void;
  sync(): void;
}

/** Where the bytes go: pg's socket (pg's own writes skip a socket that is no longer writable, and so does sendMessages()). */
export interface MessageStream {
  readonly writable?: boolean;
  write(chunk: Buffer): boolean;
}

/**
 * Room enough for `text` in UTF-8: a UTF-16 code unit is at most 3 bytes, which short texts
 * take as their bound; a long one is measured, so that a 100 MB ASCII value does not grow the
 * buffer to 300 MB.
 */
function maxUtf8Bytes(text: string): number {
  return text.length <= 65_536 ? text.length * 3 : Buffer.byteLength(text, 'utf8');
}

/** The buffer messages are built in, shared by the submissions, which build and send synchronously (see sendMessages). */
let scratch = Buffer.allocUnsafeSlow(16 * 1024);
let scratchInUse = false;
/** A scratch grown past this for one large submission is not kept. */
const KEPT_SCRATCH_BYTES = 1024 * 1024;

/**
 * Builds messages with `build` and writes them to `stream` in one write (nothing when the
 * socket is no longer writable, as pg's own writes do, or when `build` built nothing). Nothing
 * is written when `build` throws.
 */
export function sendMessages(stream: MessageStream, build: (messages: FrontendMessages) => void): void {
  const messages = new FrontendMessages();
  try {
    build(messages);
    if (stream.writable && messages.length > 0) stream.write(messages.bytes());
  } finally {
    messages.release();
  }
}

/**
 * The frontend messages of one submission, built into one buffer and written with one socket
 * write, in the bytes pg-protocol's serializer gives them. Through pg's Connection each message
 * is a Buffer of its own and a write of its own, which the corked socket then gathers into one
 * writev: for a batch of five prepared statements, eleven writes and an eleven-buffer writev.
 */
export class FrontendMessages implements MessageWriter {
  #buffer: Buffer;
  /** Whether #buffer is the shared scratch, to hand back in release(). */
  #shared: boolean;
  #length = 0;
  /** Where the message being built starts (its type byte). */
  #start = 0;

  constructor() {
    this.#shared = !scratchInUse;
    this.#buffer = this.#shared ? scratch : Buffer.allocUnsafe(1024);
    scratchInUse ||= this.#shared;
  }

  query(text: string): void {
    this.#begin(0x51);
    this.#cString(text);
    this.#end();
  }

  parse({ text, name, types }: { text: string; name?: string; types?: readonly number[] }): void {
    this.#begin(0x50);
    this.#cString(name ?? '');
    this.#cString(text);
    const count = types?.length ?? 0;
    this.#int16(count);
    for (let index = 0; index < count; index++) this.#uint32((types as readonly number[])[index]);
    this.#end();
  }

  bind({ portal, statement, values }: { portal?: string; statement?: string; values: readonly (string | Buffer | null)[] }): void {
    this.#begin(0x42);
    this.#cString(portal ?? '');
    this.#cString(statement ?? '');
    const count = values.length;
    // Each value's format: a Buffer goes as binary, anything else as text (as pg sends them).
    this.#int16(count);
    for (let index = 0; index < count; index++) this.#int16(values[index] instanceof Buffer ? 1 : 0);
    this.#int16(count);
    for (let index = 0; index < count; index++) {
      const value = values[index];
      if (value === null || value === undefined) this.#int32(-1);
      else if (typeof value === 'string') this.#lengthPrefixed(value);
      else {
        this.#int32(value.length);
        this.#ensure(value.length);
        value.copy(this.#buffer, this.#length);
        this.#length += value.length;
      }
    }
    // One result format code for every column: text.
    this.#int16(1);
    this.#int16(0);
    this.#end();
  }

  describe({ type, name }: { type: 'P' | 'S'; name?: string }): void {
    this.#portalOrStatement(0x44, type, name);
  }

  execute({ portal, rows }: { portal?: string; rows?: number }): void {
    this.#begin(0x45);
    this.#cString(portal ?? '');
    this.#uint32(rows ?? 0);
    this.#end();
  }

  close({ type, name }: { type: 'P' | 'S'; name?: string }): void {
    this.#portalOrStatement(0x43, type, name);
  }

  flush(): void {
    this.#begin(0x48);
    this.#end();
  }

  sync(): void {
    this.#begin(0x53);
    this.#end();
  }

  /** How many bytes are built so far. */
  get length(): number {
    return this.#length;
  }

  /** The bytes built so far, as a Buffer of their own (the socket may keep it past this call). */
  bytes(): Buffer {
    const bytes = Buffer.allocUnsafe(this.#length);
    this.#buffer.copy(bytes, 0, 0, this.#length);
    return bytes;
  }

  /** Gives the shared scratch back; the messages built are gone. */
  release(): void {
    if (this.#shared) scratchInUse = false;
    this.#shared = false;
    this.#length = 0;
  }

  /** Describe or Close: of a portal ('P') or a prepared statement ('S'), by name ('' the unnamed one). */
  #portalOrStatement(message: number, type: 'P' | 'S', name: string | undefined): void {
    this.#begin(message);
    this.#byte(type === 'P' ? 0x50 : 0x53);
    this.#cString(name ?? '');
    this.#end();
  }

  #begin(type: number): void {
    this.#ensure(5);
    this.#start = this.#length;
    this.#buffer[this.#length] = type;
    this.#length += 5;
  }

  /** The message's length (everything after its type byte) into the room #begin left for it. */
  #end(): void {
    this.#buffer.writeInt32BE(this.#length - this.#start - 1, this.#start + 1);
  }

  #byte(value: number): void {
    this.#ensure(1);
    this.#buffer[this.#length++] = value;
  }

  /** Counts are unsigned on the wire (a Bind may carry up to 65535 values), as pg-protocol writes them. */
  #int16(value: number): void {
    this.#ensure(2);
    this.#length = this.#buffer.writeUInt16BE(value, this.#length);
  }

  #int32(value: number): void {
    this.#ensure(4);
    this.#length = this.#buffer.writeInt32BE(value, this.#length);
  }

  /** Row counts and type OIDs, unsigned as pg-protocol writes them. */
  #uint32(value: number): void {
    this.#ensure(4);
    this.#length = this.#buffer.writeUInt32BE(value, this.#length);
  }

  #cString(text: string): void {
    this.#ensure(maxUtf8Bytes(text) + 1);
    if (text.length > 0) this.#length += this.#buffer.write(text, this.#length, 'utf8');
    this.#buffer[this.#length++] = 0;
  }

  #lengthPrefixed(text: string): void {
    this.#ensure(maxUtf8Bytes(text) + 4);
    const written = text.length === 0 ? 0 : this.#buffer.write(text, this.#length + 4, 'utf8');
    this.#buffer.writeInt32BE(written, this.#length);
    this.#length += 4 + written;
  }

  #ensure(bytes: number): void {
    const needed = this.#length + bytes;
    if (needed <= this.#buffer.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(needed, this.#buffer.length * 2));
    this.#buffer.copy(grown, 0, 0, this.#length);
    if (this.#shared && grown.length <= KEPT_SCRATCH_BYTES) scratch = grown;
    this.#buffer = grown;
  }
}
