import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

const requireHere = createRequire(import.meta.url);

/**
 * The `http` module through `require`: an OpenTelemetry http instrumentation patches that module
 * object in place when `http` is next required; ESM named imports bound earlier would miss the
 * patch. Whichever instrumentation a test file enabled applies (this module enables none).
 */
export function patchedHttp(): typeof import('node:http') {
  return requireHere('node:http');
}

/** A real HTTP server (instrumented) on a free loopback port. */
export async function listen(
  handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = patchedHttp().createServer(handler);
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
