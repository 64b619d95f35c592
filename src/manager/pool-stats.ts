import type { PoolState } from '../errors/pool-error.js';
import type { PoolCounters } from '../pool/pool-counters.js';

/**
 * A pool's figures for a health endpoint or a dashboard: what it holds now (the
 * {@link PoolState} fields) and what happened in it so far. The counts are cumulative per config
 * from its first session on, across `closeConn()` (which replaces the pool, not the config); a
 * config registered again after `destroyConn()` starts from zero.
 *
 * @example
 * ```ts
 * import { PgManager } from 'rxpg';
 *
 * const pgm = PgManager.getInstance();
 * const { inUse, size, waiting, timeouts } = pgm.poolStats();
 * const healthy = waiting === 0 || inUse < size;
 * console.log({ healthy, timeouts });
 * ```
 * @see {@link DbManager.poolStats}
 * @see {@link DbManager.poolStats$}
 */
export interface PoolStats extends PoolState {
  /** The config's name. */
  readonly conn: string;
  /** Attempts to open a session under way now (counted in `total`). */
  readonly connecting: number;
  /** Sessions opened so far (connected and `initStatement` run). */
  readonly connects: number;
  /** Attempts to open a session that failed so far (refused, authentication, connect timeout, `initStatement`). */
  readonly connectFailures: number;
  /** Lease requests that failed with `pool_timeout` so far. */
  readonly timeouts: number;
  /** Leases granted so far. */
  readonly acquires: number;
  /** How long granted lease requests waited, in total (divide by `acquires` for the mean). */
  readonly acquireWaitMillisTotal: number;
  /** The longest wait of a granted lease request. */
  readonly acquireWaitMillisMax: number;
  /**
   * Statements sent behind others still in flight on a busy session so far, sharing its
   * pipeline instead of waiting for a lease (the config's `pipeline`); 0 when it is off.
   */
  readonly pipelined: number;
}

/** The stats of config `conn`: its pool's state now (all zero without a pool) and its counters. */
export function poolStatsOf(conn: string, state: PoolState, connecting: number, counters: PoolCounters | undefined): PoolStats {
  return {
    conn,
    size: state.size,
    total: state.total,
    inUse: state.inUse,
    idle: state.idle,
    waiting: state.waiting,
    connecting,
    connects: counters?.connects ?? 0,
    connectFailures: counters?.connectFailures ?? 0,
    timeouts: counters?.timeouts ?? 0,
    acquires: counters?.acquires ?? 0,
    acquireWaitMillisTotal: counters?.acquireWaitMillisTotal ?? 0,
    acquireWaitMillisMax: counters?.acquireWaitMillisMax ?? 0,
    pipelined: counters?.pipelined ?? 0,
  };
}

/** Whether two snapshots of one pool differ in any figure. */
export function poolStatsDiffer(a: PoolStats, b: PoolStats): boolean {
  for (const key of Object.keys(a) as (keyof PoolStats)[]) if (a[key] !== b[key]) return true;
  return false;
}
