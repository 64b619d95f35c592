import type { PostgresHost } from './postgres-connection-params.js';
import type { ServerRole } from './connect-to-hosts.js';

/** What the last attempt on a host found: it did not answer, or it answered as `role`. */
export type HostState = { readonly kind: 'down'; readonly why: string; readonly at: number } | { readonly kind: 'up'; readonly role: ServerRole; readonly at: number };

/**
 * What recent connect attempts learned about each host, shared by every config of one driver
 * (a host is the same server whichever config dials it), as pgjdbc's host status tracker: a host
 * that refused or timed out is not dialled again by every acquire, and a host known to be of the
 * wrong kind (a standby, for a `read-write` config) is tried after the others. Entries older than
 * the config's `hostRecheck` count as unknown. Nothing here ever keeps a host from being tried
 * when no host is known to be good: the memory orders attempts, it never refuses a connect.
 */
export class HostStatus {
  readonly #states = new Map<string, HostState>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** The host answered; its server is `role`. */
  up(host: PostgresHost, role: ServerRole): void {
    this.#states.set(keyOf(host), { kind: 'up', role, at: this.#now() });
  }

  /** The host did not answer (refused, timed out, starting up or shutting down). */
  down(host: PostgresHost, why: string): void {
    this.#states.set(keyOf(host), { kind: 'down', why, at: this.#now() });
  }

  /** What is known about `host` from the last `recheckMillis`; undefined when nothing is. */
  known(host: PostgresHost, recheckMillis: number): HostState | undefined {
    const state = this.#states.get(keyOf(host));
    if (state === undefined || recheckMillis <= 0 || this.#now() - state.at >= recheckMillis) return undefined;
    return state;
  }
}

function keyOf(host: PostgresHost): string {
  return `${host.hostaddr ?? host.host}\u0000${host.port}`;
}
