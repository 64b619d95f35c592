// An OpenTelemetry SDK for tests: in-memory span and metric exporters, the AsyncLocalStorage
// context manager, and a span processor that knows which spans were started and not ended.
import { context, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type Span, type SpanProcessor } from '@opentelemetry/sdk-trace-base';

/** Spans started and not yet ended, whoever started them. */
export class OpenSpans implements SpanProcessor {
  readonly open = new Set<Span>();
  onStart(span: Span, _parent: Context): void {
    this.open.add(span);
  }
  onEnd(span: ReadableSpan): void {
    this.open.delete(span as Span);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
  /** Names of the open spans of instrumentation scope `scope` (every scope when omitted). */
  names(scope?: string): string[] {
    return [...this.open].filter((span) => scope === undefined || span.instrumentationScope.name === scope).map((span) => span.name);
  }
}

export interface TestSdk {
  readonly tracerProvider: BasicTracerProvider;
  readonly meterProvider: MeterProvider;
  readonly spans: InMemorySpanExporter;
  readonly openSpans: OpenSpans;
  /** Every metric data point of `name` collected now, of instrumentation scope `scope` (rxpg's by default). */
  collect(name: string, scope?: string): Promise<DataPoint<unknown>[]>;
  /** The histogram points of `name`. */
  histogram(name: string, scope?: string): Promise<DataPoint<Histogram>[]>;
  shutdown(): Promise<void>;
}

let contextManager: AsyncLocalStorageContextManager | undefined;

/** Installs the AsyncLocalStorage context manager once per process (as the Node SDK does). */
export function useAsyncContext(): void {
  if (contextManager !== undefined) return;
  contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
}

export function testSdk(): TestSdk {
  useAsyncContext();
  const spans = new InMemorySpanExporter();
  const openSpans = new OpenSpans();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [openSpans, new SimpleSpanProcessor(spans)] });
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exports only when asked (forceFlush); the interval is a day.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 86_400_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const metricsOf = async (name: string, scopeName = 'rxpg'): Promise<MetricData[]> => {
    exporter.reset();
    await reader.forceFlush();
    return exporter
      .getMetrics()
      .flatMap((resource) => resource.scopeMetrics)
      .filter((scope) => scope.scope.name === scopeName)
      .flatMap((scope) => scope.metrics)
      .filter((metric) => metric.descriptor.name === name);
  };
  return {
    tracerProvider,
    meterProvider,
    spans,
    openSpans,
    collect: async (name, scope) => (await metricsOf(name, scope)).flatMap((metric) => metric.dataPoints as DataPoint<unknown>[]),
    histogram: async (name, scope) => (await metricsOf(name, scope)).flatMap((metric) => metric.dataPoints as DataPoint<Histogram>[]),
    shutdown: async () => {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}
