/** The client address the viewer tests give: loopback, which the no-auth rule lets in. */
export const loopback = () => '127.0.0.1';

/** A page of a viewer (or an app mounting one) through `app.request()`: status, body, response. */
export async function page(
  app: { request(path: string, init?: RequestInit): Response | Promise<Response> },
  path: string,
  init?: RequestInit,
): Promise<{ status: number; html: string; res: Response }> {
  const res = await app.request(path, init);
  return { status: res.status, html: await res.text(), res };
}
