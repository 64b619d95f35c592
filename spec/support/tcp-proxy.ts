import { connect, createServer, type Server, type Socket } from 'node:net';
import { DATABASE_URL } from './database.js';

/** How a proxy treats connections. */
export interface ProxyOptions {
  /**
   * Pass a half-close through (a FIN one way, the other way still open) instead of closing the
   * connection at once. A CancelRequest needs it: the client sends the packet and its FIN, then
   * takes the server's close as proof that the cancel was delivered; a proxy that answers the
   * FIN with its own close tells the client so before the server has even read the packet.
   * Default false (a FIN from either side closes both ways).
   */
  readonly halfClose?: boolean;
}

/**
 * A loopback TCP proxy in front of a server, for fault tests: `freeze()` stops forwarding in
 * both directions while keeping every socket open (a stalled network or a hung server),
 * `cut()` drops every connection at once, `refuse()` resets new connections as they arrive.
 * With no target it accepts connections and never answers.
 */
export class TcpProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #frozen = false;
  #refusing = false;
  #delayMillis = 0;
  /** Server bytes per write to the client when trickling (0: forwarded as they come). */
  #trickleBytes = 0;
  /** Pieces written to clients while trickling. */
  trickled = 0;
  /** Bytes from the server still allowed through before every connection is cut. */
  #bytesLeft = Infinity;
  port = 0;
  accepted = 0;
  closedByClient = 0;
  /** Connections whose first bytes were a Postgres CancelRequest: cancels, not sessions. */
  cancelRequests = 0;
  /** Called with each chunk the server sends, and the connection's number (from 1), before forwarding. */
  onServerChunk: ((chunk: Buffer, connection: number) => void) | undefined;
  /** Called when a connection's first bytes are a CancelRequest, as they arrive. */
  onCancelRequest: (() => void) | undefined;
  /** Called with each chunk the client sends, and the connection's number (from 1), before forwarding. */
  onClientChunk: ((chunk: Buffer, connection: number) => void) | undefined;

  private constructor(target: { host: string; port: number } | undefined, options: ProxyOptions = {}) {
    const halfClose = options.halfClose ?? false;
    this.#server = createServer({ allowHalfOpen: halfClose }, (client) => {
      this.accepted++;
      if (this.#refusing) {
        client.resetAndDestroy();
        return;
      }
      this.#sockets.add(client);
      client.once('data', (chunk: Buffer) => {
        if (!isCancelRequest(chunk)) return;
        this.cancelRequests++;
        this.onCancelRequest?.();
      });
      client.on('close', () => {
        this.closedByClient++;
        this.#sockets.delete(client);
      });
      client.on('error', () => {});
      if (!target) {
        // Read and drop what the client sends, so its FIN is seen and 'close' fires.
        client.resume();
        return;
      }
      const connection = this.accepted;
      const upstream = connect({ port: target.port, host: target.host, allowHalfOpen: halfClose });
      this.#sockets.add(upstream);
      if (halfClose) {
        client.on('end', () => upstream.end());
        upstream.on('end', () => client.end());
      }
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.on('data', (chunk: Buffer) => {
        if (this.#frozen) return;
        this.onClientChunk?.(chunk, connection);
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => {
        if (this.#frozen) return;
        this.onServerChunk?.(chunk, connection);
        if (chunk.length >= this.#bytesLeft) {
          // Forward exactly up to the limit, then cut both ways: a connection that dies mid-message.
          client.write(chunk.subarray(0, this.#bytesLeft), () => this.cut());
          this.#bytesLeft = 0;
          return;
        }
        this.#bytesLeft -= chunk.length;
        if (this.#delayMillis > 0) setTimeout(() => client.write(chunk), this.#delayMillis);
        else if (this.#trickleBytes > 0) trickle.push(chunk);
        else client.write(chunk);
      });
      // Trickling: what the server sent goes on in pieces, one per turn of the event loop, in order.
      const trickle = new PieceQueue((piece) => {
        this.trickled++;
        // Each piece a segment of its own: Nagle's algorithm would join them on the way.
        client.setNoDelay(true);
        client.write(piece);
      }, () => this.#trickleBytes);
    });
  }

  static async start(target?: { host: string; port: number }, options?: ProxyOptions): Promise<TcpProxy> {
    const proxy = new TcpProxy(target, options);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    const address = proxy.#server.address();
    proxy.port = typeof address === 'object' && address ? address.port : 0;
    return proxy;
  }

  /** Stops forwarding; sockets stay open. */
  freeze(): void {
    this.#frozen = true;
  }

  /** Delays everything the server sends by `millis` (0: none). */
  delay(millis: number): void {
    this.#delayMillis = millis;
  }

  /**
   * Forwards what the server sends in pieces of `bytes`, one piece per turn of the event loop (0:
   * as it comes): data that arrives about as fast as the client reads it, in small reads.
   */
  trickle(bytes: number): void {
    this.#trickleBytes = bytes;
  }

  /** Lets `bytes` more bytes through from the server, then cuts every connection mid-stream. */
  cutAfterBytes(bytes: number): void {
    this.#bytesLeft = bytes;
  }

  /** Drops every open connection, both ways, at once. */
  cut(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  /** Resets new connections (`true`) or accepts them again (`false`). */
  refuse(on = true): void {
    this.#refusing = on;
  }

  /** Forwards again, with no delay or byte limit (what arrived while frozen stays dropped). */
  thaw(): void {
    this.#frozen = false;
    this.#delayMillis = 0;
    this.#trickleBytes = 0;
    this.#bytesLeft = Infinity;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** A CancelRequest: length 16, then the code 80877102 (1234 << 16 | 5678), then process id and secret key. */
function isCancelRequest(chunk: Buffer): boolean {
  return chunk.length >= 8 && chunk.readInt32BE(0) === 16 && chunk.readInt32BE(4) === 80877102;
}

/** The test server's host and port, for a proxy in front of it. */
export function databaseTarget(): { host: string; port: number } {
  const url = new URL(DATABASE_URL);
  return { host: url.hostname, port: Number(url.port || 5432) };
}

/** Connection fields that reach the test server through `proxy` (user, password and database as in DATABASE_URL). */
export function throughProxy(proxy: TcpProxy): { host: string; port: number; user: string; password: string | undefined; database: string } {
  const url = new URL(DATABASE_URL);
  return {
    host: '127.0.0.1',
    port: proxy.port,
    user: decodeURIComponent(url.username || 'postgres'),
    password: decodeURIComponent(url.password) || undefined,
    database: url.pathname.slice(1),
  };
}

/** Chunks handed on in pieces of `size()` bytes, one piece per setImmediate turn, in order. */
class PieceQueue {
  readonly #chunks: Buffer[] = [];
  #scheduled = false;
  constructor(
    private readonly write: (piece: Buffer) => void,
    private readonly size: () => number,
  ) {}

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#chunks.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      const chunk = this.#chunks[0];
      const bytes = Math.max(1, this.size());
      if (chunk.length <= bytes) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(bytes);
      this.write(chunk.subarray(0, bytes));
      this.#schedule();
    });
  }
}
