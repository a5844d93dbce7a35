// The `otel-appstats/viewer` face: the Hono app factory and the types of its options. It loads the
// record core and the stores, never the span processor (test/public-api.test.ts checks both).
export { type RemoteAddressResolver, socketRemoteAddress, type ViewerAuth } from './auth.js';
export { createViewer, type ViewerOptions } from './create-viewer.js';
export type { TraceLink } from './trace-link.js';
