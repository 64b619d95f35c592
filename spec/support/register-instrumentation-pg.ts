// Registers @opentelemetry/instrumentation-pg as an application would, before anything loads
// pg: import this module first. It patches pg.Client.prototype.query and connect for the
// whole process.
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { testSdk, type TestSdk } from './otel-sdk.js';

/** The SDK instrumentation-pg reports to (rxpg's instrumentation is given the same one). */
export const instrumentationPgSdk: TestSdk = testSdk();

export const pgInstrumentation = new PgInstrumentation();
registerInstrumentations({
  instrumentations: [pgInstrumentation],
  tracerProvider: instrumentationPgSdk.tracerProvider,
  meterProvider: instrumentationPgSdk.meterProvider,
});
