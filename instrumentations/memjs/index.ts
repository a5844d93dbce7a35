export {
  ATTR_MEMCACHED_EXPIRES,
  ATTR_MEMCACHED_HIT,
  ATTR_MEMCACHED_VALUE_BYTES,
  MemjsInstrumentation,
} from './instrumentation.js';
export type { MemjsInstrumentationConfig, MemjsResponseInfo } from './types.js';
export { COMMANDS as MEMJS_COMMANDS } from './utils.js';
