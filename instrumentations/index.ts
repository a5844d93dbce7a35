export * from './call-site.js';
export * from './caller-call-sites.js';
export * from './datastore/index.js';
export * from './memjs/index.js';
