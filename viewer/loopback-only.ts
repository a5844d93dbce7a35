import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';

/**
 * The viewer's default when no auth is configured: it answers a request only when all three say it
 * comes from this machine, straight to the viewer:
 * - the TCP peer is a loopback address (never a forwarded header: any client can send one);
 * - no proxy header (a reverse proxy on the same host connects from loopback, for the whole world);
 * - the Host names loopback: a page on another site can point its own name at 127.0.0.1 (DNS
 *   rebinding) and read the viewer through the browser of someone on this machine; the browser then
 *   sends that site's name as the Host.
 */

/** The client's address as the socket saw it; undefined when there is no socket (`app.request()`). */
export type RemoteAddressResolver = (c: Context) => string | undefined;

/**
 * The TCP peer's address from @hono/node-server's socket. Never X-Forwarded-For: any client can
 * send that header, so trusting it would open the loopback-only default to the world.
 */
export function socketRemoteAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 (`::ffff:127.0.0.1`), as sockets spell them. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  if (address === '::1') return true;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return isLoopbackV4(v4);
}

function isLoopbackV4(text: string): boolean {
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  return octets?.slice(1).every((octet) => Number(octet) <= 255) === true;
}

/**
 * A Host (or URL host) that names this machine: `localhost`, `127.x.y.z`, `[::1]`, with or without a
 * port. Anything else, `localhost.` and `foo.localhost` included, is a name someone else may resolve.
 */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const match = /^(?:\[([^\]]*)\]|([^:[\]]*))(?::\d{1,5})?$/.exec(host);
  if (!match) return false;
  if (match[1] !== undefined) return match[1] === '::1';
  const name = match[2].toLowerCase();
  return name === 'localhost' || isLoopbackV4(name);
}

/**
 * Headers a reverse proxy adds (the standard one, the de facto ones, nginx's usual X-Real-IP). A
 * proxy that adds none and rewrites the Host to loopback cannot be told from a local client: the
 * docs say to configure auth whenever a proxy is in front.
 */
export const PROXY_HEADERS = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  'via',
] as const;

const CONFIGURE_AUTH =
  'Configure auth: createViewer({ auth: { token } | { username, password } | (c) => boolean }), ' +
  'or appstats-viewer --token / --user and --password.\n';

function forbidden(c: Context, message: string): Response {
  c.header('Cache-Control', 'no-store');
  return c.text(
    `Forbidden: this appstats viewer has no auth configured, so ${message}\n${CONFIGURE_AUTH}`,
    403,
  );
}

/** A header's value as quoted in a message: bounded, so a refusal never echoes a megabyte. */
function quoted(value: string): string {
  return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}...` : value);
}

export function loopbackOnly(remoteAddress: RemoteAddressResolver): MiddlewareHandler {
  return async function loopbackOnly(c, next) {
    const address = remoteAddress(c);
    if (!isLoopbackAddress(address))
      return forbidden(
        c,
        'it answers clients on its own machine (loopback) only, and this request came from ' +
          `${address ?? 'an unknown address'}.`,
      );
    const proxied = PROXY_HEADERS.find((name) => c.req.header(name) !== undefined);
    if (proxied)
      return forbidden(
        c,
        `it refuses requests that came through a proxy, and this one carries ${proxied}: behind a proxy ` +
          'every client connects from loopback, so loopback says nothing about who is asking. ' +
          'To serve the viewer through a proxy, configure auth.',
      );
    const hosts = [c.req.header('host'), new URL(c.req.url).host].filter((h) => h !== undefined);
    const foreign = hosts.find((host) => !isLoopbackHost(host));
    if (foreign !== undefined)
      return forbidden(
        c,
        'it answers requests addressed to this machine by a loopback name (localhost, 127.0.0.1, [::1]) ' +
          `only, and this one was addressed to ${quoted(foreign)}. A page on another site can point its ` +
          'name at 127.0.0.1 (DNS rebinding) and read the viewer through your browser: open the viewer ' +
          'as http://localhost:<port>/ or http://127.0.0.1:<port>/.',
      );
    return next();
  };
}
