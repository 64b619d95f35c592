import type { BatchObservableCallback, Meter } from '@opentelemetry/api';
import type { DbManager } from '../manager/db-manager.js';

/**
 * Registers the pool's gauges of the database client conventions, read from `poolStats()` of
 * every config of `manager` whenever the SDK collects: `db.client.connection.count` (by
 * `db.client.connection.state`, `idle` or `used`), `db.client.connection.max`,
 * `db.client.connection.pending_requests` and `db.client.connection.timeouts`, each with
 * `db.client.connection.pool.name` (the config's name). Returns what unregisters them.
 */
export function observePools(manager: DbManager, meter: Meter): () => void {
  const count = meter.createObservableUpDownCounter('db.client.connection.count', {
    description: 'The number of connections that are currently in state described by the state attribute.',
    unit: '{connection}',
  });
  const max = meter.createObservableUpDownCounter('db.client.connection.max', {
    description: 'The maximum number of open connections allowed.',
    unit: '{connection}',
  });
  const pending = meter.createObservableUpDownCounter('db.client.connection.pending_requests', {
    description: 'The number of current pending requests for an open connection.',
    unit: '{request}',
  });
  const timeouts = meter.createObservableCounter('db.client.connection.timeouts', {
    description: 'The number of connection timeouts that have occurred trying to obtain a connection from the pool.',
    unit: '{timeout}',
  });
  const callback: BatchObservableCallback = (result) => {
    for (const name of manager.connNames()) {
      const stats = manager.poolStats(name);
      const pool = { 'db.client.connection.pool.name': name };
      result.observe(count, stats.idle, { ...pool, 'db.client.connection.state': 'idle' });
      result.observe(count, stats.inUse, { ...pool, 'db.client.connection.state': 'used' });
      result.observe(max, stats.size, pool);
      result.observe(pending, stats.waiting, pool);
      result.observe(timeouts, stats.timeouts, pool);
    }
  };
  const observables = [count, max, pending, timeouts];
  meter.addBatchObservableCallback(callback, observables);
  return () => meter.removeBatchObservableCallback(callback, observables);
}
