/**
 * What happened in a config's pool so far, counted as it happens (a few integer additions per
 * lease): the cumulative half of `poolStats()`. Owned by the manager per config, so the counts
 * go on across `closeConn()`, which replaces the pool but not the config.
 */
export class PoolCounters {
  /** Sessions opened (connected, `initStatement` run). */
  connects = 0;
  /** Attempts to open a session that failed (refused, authentication, timeout, `initStatement`). */
  connectFailures = 0;
  /** Lease requests that ran out of `acquireTimeout` (`pool_timeout`). */
  timeouts = 0;
  /** Leases granted. */
  acquires = 0;
  /** Time lease requests waited before their grant, summed over every grant. */
  acquireWaitMillisTotal = 0;
  /** The longest any granted lease request waited. */
  acquireWaitMillisMax = 0;
  /** Statements sent behind others still in flight on a busy session (the config's `pipeline`). */
  pipelined = 0;

  /** A lease was granted after waiting `waitMillis`. */
  granted(waitMillis: number): void {
    this.acquires++;
    this.acquireWaitMillisTotal += waitMillis;
    if (waitMillis > this.acquireWaitMillisMax) this.acquireWaitMillisMax = waitMillis;
  }
}
