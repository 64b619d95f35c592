import type { SchedulerLike } from 'rxjs';
import type { EmitEvent } from '../events/db-event.js';

/** What running a statement needs to know besides the statement. */
export interface StatementContext {
  readonly conn: string;
  readonly emit: EmitEvent;
  readonly scheduler: SchedulerLike;
}
