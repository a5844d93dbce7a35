export {
  aggregateDashboard,
  type Dashboard,
  type HistoryRow,
  type PathRow,
  percentile,
  type RpcRow,
} from './aggregate.js';
export {
  isLoopbackAddress,
  type RemoteAddressResolver,
  socketRemoteAddress,
  type ViewerAuth,
} from './auth.js';
export { createViewer, type ViewerOptions } from './create-viewer.js';
export { type DashboardQuery, parseDashboardQuery } from './dashboard-query.js';
export {
  type Finding,
  type FindingKind,
  findCallFindings,
  findDuplicateCalls,
  findNPlusOne,
} from './findings.js';
export type { TraceLink } from './trace-link.js';
