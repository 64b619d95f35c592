/** Where a statement was created in the caller's code; captured cheaply, formatted only on failure. */
export interface CallSite {
  readonly stack?: string;
}

const NO_CALL_SITE: CallSite = Object.freeze({});

/**
 * Captures the caller's stack above `above` (the public method that was called); nothing when
 * `enabled` is false (the manager's `callSites` option): V8's stack walk costs a few µs.
 */
export function captureCallSite(above: Function, enabled = true): CallSite {
  if (!enabled) return NO_CALL_SITE;
  const site: { stack?: string } = {};
  Error.captureStackTrace(site, above);
  return site;
}

/**
 * Gives `error` the call site's frames, so its stack points at the code that called `query()`
 * and not at the protocol parser. The original stack stays reachable through `cause` when set.
 */
export function withCallSite<E extends Error>(error: E, site: CallSite | undefined): E {
  const stack = site?.stack;
  if (stack === undefined) return error;
  const frames = stack.indexOf('\n    at ');
  Object.defineProperty(error, 'stack', {
    value: `${error.name}: ${error.message}${frames >= 0 ? stack.slice(frames) : ''}`,
    configurable: true,
    writable: true,
    enumerable: false,
  });
  return error;
}
