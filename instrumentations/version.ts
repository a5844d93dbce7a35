/** Reported as the instrumentation scope version of our instrumentations' spans. */
export const PACKAGE_VERSION = '0.1.0';
