// The `otel-appstats` face: processor, exporter, stores, record format and call-site capture.
export * from './exporter/index.js';
export * from './instrumentations/index.js';
