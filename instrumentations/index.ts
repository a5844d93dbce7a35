export * from './call-site.js';
export * from './memjs/index.js';
