// The `rxpg/opentelemetry` entry: spans and metrics for a manager. @opentelemetry/api is loaded
// only from here (an optional peer dependency), so users who do not import it never load it.
export { instrument, INSTRUMENTATION_SCOPE, type InstrumentOptions, type InstrumentationHandle } from './opentelemetry/instrument.js';
