import { context, createContextKey, ROOT_CONTEXT, type Context } from '@opentelemetry/api';

/**
 * The key with which `suppressTracing()` of @opentelemetry/core marks a context: the SDK's
 * tracers start no recording span in such a context (a non-recording one, which nothing
 * exports and nothing needs to end). `createContextKey` makes it with `Symbol.for`, so this is
 * the same key without a dependency on @opentelemetry/core; spec/opentelemetry.spec.ts checks
 * that the SDK honours it.
 */
const SUPPRESS_TRACING = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING');
const SUPPRESSED_ROOT = ROOT_CONTEXT.setValue(SUPPRESS_TRACING, true);

function suppressed(active: Context): Context {
  return active === ROOT_CONTEXT ? SUPPRESSED_ROOT : active.setValue(SUPPRESS_TRACING, true);
}

/**
 * Runs a call into the client library with tracing suppressed, so that the library's own
 * instrumentation opens no span for a statement rxpg traces itself: instrumentation-pg's
 * `Client.prototype.query` patch would start one and end it only through a promise or a
 * callback, which rxpg's statements never use, so it would stay open and never be exported.
 */
export function untraced<R>(call: () => R): R {
  return context.with(suppressed(context.active()), call);
}
