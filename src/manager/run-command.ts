import { Observable } from 'rxjs';
import type { StatementSummary } from '../driver/statement-sink.js';
import type { LeaseScope } from '../pool/lease-scope.js';
import type { Session } from '../pool/session.js';
import { runStatement } from './run-statement.js';
import type { StatementContext } from './statement-context.js';

/**
 * A control statement (BEGIN, COMMIT, SAVEPOINT …) on a scope's session: emits its summary
 * and completes, inside the scope.
 */
export function runCommand(session: Session, scope: LeaseScope, sql: string, context: StatementContext): Observable<StatementSummary> {
  return new Observable<StatementSummary>((subscriber) => {
    const handle = runStatement(session, sql, [], {
      next: () => {},
      error: (error) => subscriber.error(error),
      complete: (summary) => {
        subscriber.next(summary);
        subscriber.complete();
      },
    }, context, { scope });
    return () => handle.abandon();
  });
}
