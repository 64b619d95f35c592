import type { ConnectionError } from '../../errors/connection-error.js';

/**
 * A NOTIFY received on a LISTENed channel.
 *
 * @example
 * ```ts
 * import { PgManager, type Notification } from 'rxpg';
 *
 * PgManager.getInstance().notifications('CHAT', { conn: 'listenconn' })
 *   .subscribe((note: Notification) => console.log(note.channel, note.payload, note.processId));
 * ```
 */
export interface Notification {
  /** The channel exactly as it was LISTENed (case kept). */
  readonly channel: string;
  /** The payload exactly as sent; `''` when there was none. */
  readonly payload: string;
  /** The server process id of the session that sent it. */
  readonly processId: number;
  /** When it was read off the socket, in milliseconds since the epoch (the manager's scheduler clock; notifications read together share it). */
  readonly receivedAt: number;
}

/**
 * In-band marker of a gap: the listen session was lost and is listening again. Postgres drops
 * notifications sent while nobody listened, so a subscriber that must stay in sync re-reads
 * its state when it sees one. Emitted only to subscribers that asked with `{ gaps: true }`.
 *
 * @example
 * ```ts
 * import { ListenGap, PgManager } from 'rxpg';
 *
 * PgManager.getInstance().notifications('orders', { conn: 'listenconn', gaps: true }).subscribe((event) => {
 *   if (event instanceof ListenGap) console.log(`missed up to ${event.durationMillis} ms of notifications: resync`);
 *   else console.log(event.payload);
 * });
 * ```
 * @see {@link PgManager.listenStatus$}
 */
export class ListenGap {
  readonly channel: string;
  /** When the session was lost and when it listened again (scheduler clock, ms). */
  readonly lostAt: number;
  readonly listeningAt: number;

  constructor(channel: string, lostAt: number, listeningAt: number) {
    this.channel = channel;
    this.lostAt = lostAt;
    this.listeningAt = listeningAt;
  }

  /** How long nobody listened. */
  get durationMillis(): number {
    return this.listeningAt - this.lostAt;
  }
}

/**
 * The life of a listen session, as `listenStatus$()` reports it: `connecting`, `listening`,
 * `reconnecting` (after every failed attempt or loss: the reconnect attempt about to be made,
 * the error that caused it, the backoff delay and since when the session has not listened),
 * `gap` (listening again after a loss, with how long it lasted), `failed` (a fault retrying
 * cannot fix, or `maxReconnectAttempts` reached: subscribers were errored with `error`, and
 * nothing is retried until a new subscriber or `waitForNotify` arrives), `closed`.
 */
export type ListenStatus =
  | { readonly state: 'idle' }
  | { readonly state: 'connecting' }
  | { readonly state: 'listening'; readonly processId: number; readonly channels: readonly string[] }
  | {
      readonly state: 'reconnecting';
      readonly attempt: number;
      readonly error: ConnectionError;
      readonly delayMillis: number;
      /** When the session was lost, or the first attempt of this run failed (scheduler clock, ms). */
      readonly since: number;
    }
  | { readonly state: 'gap'; readonly durationMillis: number; readonly lostAt: number; readonly listeningAt: number }
  | { readonly state: 'failed'; readonly error: ConnectionError }
  | { readonly state: 'closed' };
