import type { Session } from './session.js';

// Sessions held by scopes (transaction, cursor, connection) whose code is running right now,
// synchronously. A scope releases its session only after the user's observable completes, so a
// lease requested from inside it that can only be served by that same session would wait
// forever. An `exclude` entry marks code that runs on the scope's behalf but outside it (the
// scope's values reaching its own subscriber), where asking for a lease is safe.
const held: (Session | { readonly exclude: Session })[] = [];

/** Runs `fn` with `session` marked as held by the running scope. */
export function inScope<T>(session: Session, fn: () => T): T {
  held.push(session);
  try {
    return fn();
  } finally {
    held.pop();
  }
}

/** Runs `fn` as code outside the scope that holds `session` (its subscriber downstream). */
export function outOfScope<T>(session: Session, fn: () => T): T {
  held.push({ exclude: session });
  try {
    return fn();
  } finally {
    held.pop();
  }
}

/** Whether the code running now is inside a scope that holds `session`. */
export function isHeldByRunningScope(session: Session): boolean {
  for (let index = held.length - 1; index >= 0; index--) {
    const entry = held[index];
    if (entry === session) return true;
    if ((entry as { exclude?: Session }).exclude === session) return false;
  }
  return false;
}
