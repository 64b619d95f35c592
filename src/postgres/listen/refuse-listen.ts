import type { DriverConnection } from '../../driver/driver-connection.js';
import type { EngineUnsupportedError } from '../../errors/engine-unsupported-error.js';
import { listenRefusal } from '../engine-refusals.js';
import { PgConnection } from '../pg-connection.js';

/**
 * Why the listen session just opened must not LISTEN, or undefined: the engine behind it lacks
 * LISTEN (see `listenRefusal`). Only the Postgres driver's sessions say which engine they reached.
 */
export function refuseListen(connection: DriverConnection, conn: string): EngineUnsupportedError | undefined {
  if (!(connection instanceof PgConnection)) return undefined;
  return listenRefusal(connection.engine, conn, connection.host);
}
