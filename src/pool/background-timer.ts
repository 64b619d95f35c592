import type { SchedulerLike, Subscription } from 'rxjs';

/**
 * Runs `fire` once, `dueMillis` from now on `scheduler`, without keeping Node's event loop alive
 * for it: a pool's idle timer must not hold open a process that has nothing else to do (as
 * pg.Pool's `allowExitOnIdle` unrefs its own). It still runs on `scheduler`, so a TestScheduler
 * (given, or patching `asyncScheduler` in `run()`) drives it in virtual time as before.
 *
 * @example
 * ```ts
 * session.idleTimer = backgroundTimer(scheduler, idleTimeoutMillis, () => discard(session));
 * ```
 */
export function backgroundTimer(scheduler: SchedulerLike, dueMillis: number, fire: () => void): Subscription {
  const action = scheduler.schedule(fire, dueMillis);
  // asyncScheduler keeps the Node timer of a scheduled action as its `id` (every rxjs 7
  // release). A virtual-time scheduler has a number there or nothing, and no unref. Should a
  // release move it, the timer merely keeps the process alive as before, and
  // spec/process-exit.spec.ts fails.
  const handle = (action as unknown as { id?: { unref?: unknown } }).id;
  if (typeof handle === 'object' && handle !== null && typeof handle.unref === 'function') (handle as { unref(): void }).unref();
  return action;
}
