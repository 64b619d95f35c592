import { firstValueFrom } from 'rxjs';
import type { ConnectionHooks, ConnectionParams, Driver, DriverConnection, SessionSettings } from '../../src/index.js';

/** A config's session settings with every default and nothing of its own, reported as `application`. */
export function plainSessionSettings(application: string): SessionSettings {
  return {
    applicationName: undefined,
    fallbackApplicationName: application,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    statementTimeoutMillis: 0,
    defaultIsolation: undefined,
    typeParsers: undefined,
    prepare: true,
    pooler: 'none',
  };
}

/**
 * One session opened straight through the driver seam (no manager, no pool): `connectionString`
 * read by the driver itself, reported as `application`, with no statement timeout or isolation
 * default. Returns the session and the params the driver resolved.
 */
export async function openDriverConnection(
  driver: Driver,
  connectionString: string,
  application: string,
  hooks: Partial<ConnectionHooks> = {},
): Promise<{ connection: DriverConnection; params: ConnectionParams }> {
  const { params } = driver.resolveConnection(
    { connectionString },
    plainSessionSettings(application),
    application,
  );
  const connection = await firstValueFrom(driver.connect(params, { onNotice: () => {}, onLost: () => {}, ...hooks }));
  return { connection, params };
}
