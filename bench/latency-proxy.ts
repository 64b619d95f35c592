// A loopback TCP proxy that holds every chunk for a fixed time in each direction: a network
// between the application and the database for the benchmarks, where loopback has none.
// spec/support/tcp-proxy.ts delays only the server's direction, per chunk on its own timer.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { PgMessageCounter } from '../spec/support/pg-message-counter.js';

/** What went through a {@link LatencyProxy} since the last sample, and how long chunks were really held. */
export interface LatencyProxyStats {
  /** ReadyForQuery messages the server sent: one per round trip (per Sync or simple Query). */
  readonly readyForQuery: number;
  /**
   * Round trips: the times a client sent after the server had answered (or first). Statements
   * written one after another without waiting for an answer are one round trip, with one Sync
   * (a batch) or a Sync each (postgres.js's pipelining).
   */
  readonly roundTrips: number;
  /** Median time a chunk was held, both ways, in milliseconds (timers fire late, never early). */
  readonly medianHeldMillis: number;
}

/**
 * Forwards loopback connections to `target`, holding each chunk `delayMillis` in each direction.
 * Order is kept by construction: one queue per direction and connection, one timer for its
 * head, chunks written in arrival order. Nagle is off on both legs (as pg and libpq set it on
 * their own sockets), so the proxy adds the delay and no coalescing wait of its own.
 */
export class LatencyProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #counter = new PgMessageCounter();
  #connections = 0;
  #roundTrips = 0;
  // A sample of held times (every 16th chunk), enough for a median without keeping them all.
  #held: number[] = [];
  #chunks = 0;
  #sampled = { readyForQuery: 0, roundTrips: 0 };
  port = 0;

  private constructor(target: { host: string; port: number }, delayMillis: number) {
    this.#server = createServer({ noDelay: true }, (client) => {
      const connection = ++this.#connections;
      const upstream = connect({ host: target.host, port: target.port, noDelay: true });
      this.#sockets.add(client).add(upstream);
      client.on('close', () => this.#sockets.delete(client));
      upstream.on('close', () => this.#sockets.delete(upstream));
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      let answered = true;
      const toServer = this.#delayed(upstream, delayMillis, () => {});
      const toClient = this.#delayed(client, delayMillis, () => {
        answered = true;
      });
      client.on('data', (chunk: Buffer) => {
        // A client that sends before an answer reached it is still in the same round trip.
        if (answered) this.#roundTrips++;
        answered = false;
        toServer(chunk);
      });
      upstream.on('data', (chunk: Buffer) => {
        this.#counter.feed(chunk, connection);
        toClient(chunk);
      });
    });
  }

  /** Starts a proxy on a free loopback port. */
  static async start(target: { host: string; port: number }, delayMillis: number): Promise<LatencyProxy> {
    const proxy = new LatencyProxy(target, delayMillis);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    const address = proxy.#server.address();
    proxy.port = typeof address === 'object' && address ? address.port : 0;
    return proxy;
  }

  /** A writer that holds each chunk `delayMillis`, then writes it to `socket`, in order, and calls `written`. */
  #delayed(socket: Socket, delayMillis: number, written: () => void): (chunk: Buffer) => void {
    const queue: { due: number; arrived: number; chunk: Buffer }[] = [];
    let head = 0;
    const flush = (): void => {
      const now = performance.now();
      const first = head;
      // Chunks due together leave in one write (cork), as one burst on a real link would. Timers
      // run on a millisecond clock of their own, so one may fire a hair before `due` by this one.
      socket.cork();
      while (head < queue.length && queue[head].due <= now + 0.1) {
        const { arrived, chunk } = queue[head++];
        if (++this.#chunks % 16 === 0) this.#held.push(now - arrived);
        if (!socket.destroyed) socket.write(chunk);
      }
      socket.uncork();
      if (head > first) written();
      if (head === queue.length) {
        queue.length = 0;
        head = 0;
      } else {
        // Node runs a timer no earlier than 1 ms; a head due sooner waits that long at most.
        setTimeout(flush, queue[head].due - now);
      }
    };
    return (chunk) => {
      const arrived = performance.now();
      queue.push({ due: arrived + delayMillis, arrived, chunk });
      if (queue.length - head === 1) setTimeout(flush, delayMillis);
    };
  }

  /** What went through since the last call (or the start). */
  sample(): LatencyProxyStats {
    const held = this.#held.sort((a, b) => a - b);
    const stats = {
      readyForQuery: this.#counter.count('Z') - this.#sampled.readyForQuery,
      roundTrips: this.#roundTrips - this.#sampled.roundTrips,
      medianHeldMillis: held.length > 0 ? held[Math.floor(held.length / 2)] : NaN,
    };
    this.#sampled = { readyForQuery: this.#counter.count('Z'), roundTrips: this.#roundTrips };
    this.#held = [];
    return stats;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
