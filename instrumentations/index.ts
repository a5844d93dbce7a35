export * from './call-site.js';
