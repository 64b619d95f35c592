import { Observable, timeout, type SchedulerLike, type Subscription } from 'rxjs';
import { ConnectionError } from '../errors/connection-error.js';
import { RxpgError } from '../errors/rxpg-error.js';
import type { HostStatus } from './host-status.js';
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
  readonly processId: number;
  close(): Observable<void>;
}

/** Which host a session went to, or why a host was passed over: for `events$`. */
export interface HostReport {
  readonly host: PostgresHost;
  readonly outcome: 'chosen' | 'passed_over';
  /** The server's kind when chosen; the failure or the mismatch when passed over. */
  readonly why: string;
  /** The session's process id, when chosen. */
  readonly processId?: number;
}

/** What connect attempts share across calls: the hosts' recent states, and where to report choices. */
export interface HostChoice {
  readonly status?: HostStatus;
  /** How long a host's state counts (`hostRecheck`); 0 forgets at once. */
  readonly recheckMillis?: number;
  readonly report?: (report: HostReport) => void;
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

/**
 * The order to try hosts in for one pass: those known to suit `wanted` or not known, then those
 * known to be of another kind (a promotion may have changed that), then those that recently did
 * not answer. Within each group, `hosts`' own order. Every host stays in the list.
 */
export function rankHosts(hosts: readonly PostgresHost[], wanted: Exclude<TargetSessionAttrs, 'prefer-standby'>, status: HostStatus | undefined, recheckMillis: number): PostgresHost[] {
  if (status === undefined || recheckMillis <= 0) return [...hosts];
  const rank = (host: PostgresHost): number => {
    const state = status.known(host, recheckMillis);
    if (state === undefined) return 0;
    if (state.kind === 'down') return 2;
    return suits(wanted, state.role) ? 0 : 1;
  };
  return hosts
    .map((host, index) => ({ host, index, rank: rank(host) }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map((entry) => entry.host);
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
 * `any` is attempted as it is, its own error unchanged. With `choice.status`, what earlier
 * connects learned orders each pass (see {@link rankHosts}) and what this one learns is kept;
 * `choice.report` hears of every host chosen or passed over.
 */
export function connectToHosts<C extends HostSession>(
  params: PostgresConnectionParams,
  connector: HostConnector<C>,
  scheduler: SchedulerLike,
  random: () => number = Math.random,
  choice: HostChoice = {},
): Observable<C> {
  const { status, recheckMillis = 0, report } = choice;
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
      const passOver = (host: PostgresHost, why: string, retryable: boolean, error?: unknown): void => {
        passedOver.push({ host, why, retryable, error });
        report?.({ host, outcome: 'passed_over', why });
      };
      const choose = (host: PostgresHost, session: C, why: string): C => {
        report?.({ host, outcome: 'chosen', why, processId: session.processId });
        return session;
      };
      for (const wanted of passes) {
        for (const host of rankHosts(hosts, wanted, status, recheckMillis)) {
          let session: C;
          try {
            session = await firstOf(
              perHost(host),
              (late) => void closeQuietly(late),
              (opened) => (inHand = opened),
            );
          } catch (error) {
            // On prefer-standby's second pass a host that failed on the first is tried again, as libpq does.
            const retryable = !(error instanceof RxpgError) || error.isRetryable;
            // A refusal, a timeout, a server starting up: remembered, so the next acquires try it last.
            // (A wrong password is the config's fault, not the host's.)
            if (retryable) status?.down(host, messageOf(error));
            passOver(host, messageOf(error), retryable, error);
            continue;
          }
          if (wanted === 'any') {
            inHand = undefined;
            return choose(host, session, `any server (target_session_attrs=${attrs})`);
          }
          let role: ServerRole;
          try {
            role = await firstOf(connector.role(session));
          } catch (error) {
            inHand = undefined;
            await closeQuietly(session);
            passOver(host, `could not tell what the server is: ${messageOf(error)}`, true, error);
            continue;
          }
          inHand = undefined;
          status?.up(host, role);
          if (suits(wanted, role)) return choose(host, session, `${describeRole(role)} (target_session_attrs=${attrs})`);
          await closeQuietly(session);
          // A standby may be promoted (or a read-only setting lifted): worth another try later.
          passOver(host, `${describeRole(role)}, not ${wanted} (target_session_attrs=${attrs})`, true);
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

/** A server's kind in words: `a standby (in hot standby)`, `a primary accepting writes`. */
export function describeRole(role: ServerRole): string {
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
