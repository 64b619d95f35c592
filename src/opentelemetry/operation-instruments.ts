import { ValueType, type Histogram, type Meter } from '@opentelemetry/api';

/** The semantic conventions' advice for database durations, in seconds. */
export const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

/** The histograms rxpg records into as things happen (the pool's gauges are read on collection). */
export interface OperationInstruments {
  /** `db.client.operation.duration`: each statement and stream, subscribe to end, lease wait included. */
  readonly operationDuration: Histogram;
  /** `db.client.connection.wait_time`: how long each granted lease request waited. */
  readonly waitTime: Histogram;
  /** `db.client.connection.create_time`: how long opening each session took (`initStatement` included). */
  readonly createTime: Histogram;
}

export function createOperationInstruments(meter: Meter): OperationInstruments {
  const histogram = (name: string, description: string): Histogram =>
    meter.createHistogram(name, { description, unit: 's', valueType: ValueType.DOUBLE, advice: { explicitBucketBoundaries: DURATION_BUCKETS } });
  return {
    operationDuration: histogram('db.client.operation.duration', 'Duration of database client operations.'),
    waitTime: histogram('db.client.connection.wait_time', 'The time it took to obtain an open connection from the pool.'),
    createTime: histogram('db.client.connection.create_time', 'The time it took to create a new connection.'),
  };
}
