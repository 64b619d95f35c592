import { Observable, of } from 'rxjs';
import { ConnectionError } from '../errors/connection-error.js';
import type { ServerRole } from './connect-to-hosts.js';
import type { PgConnection } from './pg-connection.js';

/**
 * Whether a server is a standby and whether its transactions are read-only, as libpq decides
 * target_session_attrs: from `in_hot_standby` and `default_transaction_read_only`, which servers
 * from 14 on report at startup, else by asking.
 */
export function serverRole(connection: Pick<PgConnection, 'serverParameters' | 'run'>): Observable<ServerRole> {
  const standby = connection.serverParameters.get('in_hot_standby');
  const readOnly = connection.serverParameters.get('default_transaction_read_only');
  if (standby !== undefined && readOnly !== undefined) return of({ inHotStandby: standby === 'on', readOnly: readOnly === 'on' });
  return new Observable<ServerRole>((subscriber) => {
    let role: ServerRole | undefined;
    connection.run("SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only') = 'on'", [], {
      row: (_shape, values) => {
        role = { inHotStandby: values[0] === true, readOnly: values[1] === true };
      },
      complete: () => {
        if (role === undefined) subscriber.error(new ConnectionError('the server did not say whether it is a standby'));
        else {
          subscriber.next(role);
          subscriber.complete();
        }
      },
      error: (error) => subscriber.error(error),
    });
  });
}
