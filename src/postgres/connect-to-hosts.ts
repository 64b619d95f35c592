import { Observable, timeout, type SchedulerLike, type Subscription } from 'rxjs';
import { ConnectionError } from '../errors/connection-error.js';
import { RxpgError } from '../errors/rxpg-error.js';
import type { PostgresConnectionParams, PostgresHost, TargetSessionAttrs } from './postgres-connection-params.js';

/** What a server is, as `target_session_attrs` asks: read from its startup reports or asked. */
export interface ServerRole {
  /** In recovery (a standby, `in_hot_standby`). */
  readonly inHotStandby: boolean;
  /** `default_transaction_read_only` is on (a standby's transactions are read-only whatever it says). */
  readonly readOnly: boolean;
}

/** A session to one host that can be given up when its server is not what the config asks for. */
export interface HostSession {
  close(): Observable<void>;
}

/** How to open a session to one host, and how to learn its server's role. */
export interface HostConnector<C extends HostSession> {
  open(host: PostgresHost): Observable<C>;
  role(session: C): Observable<ServerRole>;
}

/** The order libpq tries the hosts in: as listed, or shuffled with `load_balance_hosts=random`. */
export function hostOrder(params: Pick<PostgresConnectionParams, 'hosts' | 'loadBalanceHosts'>, random: () => number = Math.random): PostgresHost[] {
  const hosts = [...params.hosts];
  if (params.loadBalanceHosts === 'random') {
    // Fisher-Yates, as libpq shuffles its connection list.
    for (let index = hosts.length - 1; index > 0; index--) {
      const other = Math.floor(random() * (index + 1));
      [hosts[index], hosts[other]] = [hosts[other], hosts[index]];
    }
  }
  return hosts;
}

/** Whether a server of `role` suits `wanted` (libpq's target_session_attrs). */
export function suits(wanted: Exclude<TargetSessionAttrs, 'prefer-standby'>, role: ServerRole): boolean {
  switch (wanted) {
    case 'any':
      return true;
    case 'read-write':
      return !role.readOnly && !role.inHotStandby;
    case 'read-only':
      return role.readOnly || role.inHotStandby;
    case 'primary':
      return !role.inHotStandby;
    case 'standby':
      return role.inHotStandby;
  }
}

/**
 * Opens a session to the first suitable host, as libpq does: the hosts in order (or shuffled),
 * each attempt under its own `connect_timeout`; a session whose server does not suit
 * `target_session_attrs` is closed and the next host tried; `prefer-standby` looks for a standby
 * first and takes any server on a second pass. When no host serves, one ConnectionError lists
 * every host and why it was passed over; it is retryable when some host failed for a reason
 * that may pass (a refused connection, a timeout, a server starting up). A single host with
 * `any` is attempted as it is, its own error unchanged.
 */
export function connectToHosts<C extends HostSession>(
  params: PostgresConnectionParams,
  connector: HostConnector<C>,
  scheduler: SchedulerLike,
  random: () => number = Math.random,
): Observable<C> {
  const attrs = params.targetSessionAttrs;
  const hosts = hostOrder(params, random);
  const perHost = (host: PostgresHost): Observable<C> => {
    const opened = connector.open(host);
    const seconds = params.connectTimeoutSeconds;
    if (seconds === undefined || seconds <= 0) return opened;
    // libpq's connect_timeout is per host attempt (at least 2 s, as libpq rounds it).
    const millis = Math.max(2, seconds) * 1000;
    return opened.pipe(
      timeout({
        first: millis,
        scheduler,
        with: () => {
          throw new ConnectionError(`could not connect to ${where(host)} within connect_timeout (${millis / 1000} s)`, { isRetryable: true });
        },
      }),
    );
  };
  if (hosts.length === 1 && attrs === 'any') return perHost(hosts[0]);

  return new Observable<C>((subscriber) => {
    // Unsubscribing (the caller's deadline) drops the attempt under way; a session that opens
    // after that is closed, never leaked.
    let current: Subscription | undefined;
    /** A session opened and not yet handed over or closed (its role is being asked). */
    let inHand: C | undefined;
    let cancelled = false;
    const firstOf = <T>(source: Observable<T>, discard?: (value: T) => void, taken?: (value: T) => void): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        let settled = false;
        current = source.subscribe({
          next: (value) => {
            if (settled) return;
            settled = true;
            if (cancelled) discard?.(value);
            else {
              // Held from this moment: an unsubscribe before the continuation runs closes it.
              taken?.(value);
              resolve(value);
            }
          },
          error: (error: unknown) => {
            settled = true;
            reject(error);
          },
          complete: () => {
            if (!settled) reject(new ConnectionError('the connect attempt ended without a session'));
          },
        });
      });
    const run = async (): Promise<C> => {
      const passedOver: { host: PostgresHost; why: string; retryable: boolean; error?: unknown }[] = [];
      const passes: Exclude<TargetSessionAttrs, 'prefer-standby'>[] = attrs === 'prefer-standby' ? ['standby', 'any'] : [attrs];
      for (const wanted of passes) {
        for (const host of hosts) {
          let session: C;
          try {
            session = await firstOf(
              perHost(host),
              (late) => void closeQuietly(late),
              (opened) => (inHand = opened),
            );
          } catch (error) {
            // On prefer-standby's second pass a host that failed on the first is tried again, as libpq does.
            passedOver.push({ host, why: messageOf(error), retryable: !(error instanceof RxpgError) || error.isRetryable, error });
            continue;
          }
          if (wanted === 'any') {
            inHand = undefined;
            return session;
          }
          let role: ServerRole;
          try {
            role = await firstOf(connector.role(session));
          } catch (error) {
            inHand = undefined;
            await closeQuietly(session);
            passedOver.push({ host, why: `could not tell what the server is: ${messageOf(error)}`, retryable: true, error });
            continue;
          }
          inHand = undefined;
          if (suits(wanted, role)) return session;
          await closeQuietly(session);
          // A standby may be promoted (or a read-only setting lifted): worth another try later.
          passedOver.push({ host, why: `${describeRole(role)}, not ${wanted} (target_session_attrs=${attrs})`, retryable: true });
        }
      }
      const reasons = passedOver.map((entry) => (entry.error instanceof ConnectionError ? entry.error.reason : undefined));
      const allAuthentication = reasons.length > 0 && reasons.every((reason) => reason === 'authentication');
      throw new ConnectionError(
        `no host of ${hosts.length} was suitable (target_session_attrs=${attrs}): ${passedOver.map((entry) => `${where(entry.host)}: ${entry.why}`).join('; ')}`,
        { reason: allAuthentication ? 'authentication' : 'connection', isRetryable: passedOver.some((entry) => entry.retryable), cause: passedOver.at(-1)?.error },
      );
    };
    run().then(
      (session) => {
        if (cancelled) void closeQuietly(session);
        else {
          subscriber.next(session);
          subscriber.complete();
        }
      },
      (error: unknown) => subscriber.error(error),
    );
    return () => {
      cancelled = true;
      current?.unsubscribe();
      if (inHand !== undefined) void closeQuietly(inHand);
    };
  });
}

function where(host: PostgresHost): string {
  const address = host.hostaddr !== undefined && host.hostaddr !== host.host ? `${host.host} (${host.hostaddr})` : host.host;
  return `${address}:${host.port}`;
}

function describeRole(role: ServerRole): string {
  if (role.inHotStandby) return 'a standby (in hot standby)';
  return role.readOnly ? 'a primary with default_transaction_read_only on' : 'a primary accepting writes';
}

function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // The per-host error repeats "could not connect to user@host:port/db: "; the list says the host.
  return message.replace(/^could not connect to \S+: /, '');
}

function closeQuietly(session: HostSession): Promise<void> {
  return new Promise<void>((resolve) => {
    session.close().subscribe({ complete: resolve, error: () => resolve() });
  });
}
