/**
 * Where and how to open a session, as parsed from a connection config. The password is kept
 * non-enumerable by whoever builds this so that logging the params never prints it.
 */
export interface ConnectionParams {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string | undefined;
  readonly database: string;
  readonly applicationName: string | undefined;
  /** TLS options as the driver takes them, `false` for none. */
  readonly ssl: boolean | Readonly<Record<string, unknown>>;
  /** TCP keepalive on the session's socket; initial delay in milliseconds. */
  readonly keepAlive: boolean;
  readonly keepAliveInitialDelayMillis: number;
  /** Server-side default for every statement of this session, in milliseconds (0: none). */
  readonly statementTimeoutMillis: number;
  /** Isolation level of implicit and plain `BEGIN` transactions; undefined keeps the server's default. */
  readonly defaultIsolation: 'read committed' | 'repeatable read' | 'serializable' | undefined;
  /** Value parsers by type OID, overriding the driver's defaults for this config. */
  readonly typeParsers: ReadonlyMap<number, (text: string) => unknown>;
}

/** A description of a target that is safe to print: never the password. */
export function describeTarget(params: Pick<ConnectionParams, 'host' | 'port' | 'user' | 'database'>): string {
  return `${params.user}@${params.host}:${params.port}/${params.database}`;
}
