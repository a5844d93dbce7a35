export { describeRequest } from './describe-request.js';
export { describeResponse } from './describe-response.js';
export {
  ATTR_DATASTORE_CLIENT_METHOD,
  ATTR_DATASTORE_TRANSACTIONAL,
  DatastoreInstrumentation,
  DB_SYSTEM_DATASTORE,
} from './instrumentation.js';
export {
  billedOps,
  costMicrodollars,
  type DatastorePrices,
  DEFAULT_DATASTORE_PRICES,
  OP_DELETE,
  OP_READ,
  OP_SMALL,
  OP_WRITE,
} from './pricing.js';
export { describeQuery, formatKey } from './query-text.js';
export type { DatastoreInstrumentationConfig, DatastoreResponseInfo } from './types.js';
