import type { HtmlEscapedString } from 'hono/utils/html';
import type { Links } from './links.js';
import { DashboardPage, type DashboardPageProps } from './pages/dashboard.js';
import { DetailsPage, type DetailsPageProps } from './pages/details.js';
import { FilePage, type FilePageProps } from './pages/file.js';
import { MessagePage } from './pages/message.js';

/**
 * Pages -> HTML strings, so the route handlers (plain .ts) need no JSX. Every component is
 * synchronous, so rendering is one string build, no promises.
 */
function html(node: unknown): string {
  return `<!doctype html>${(node as HtmlEscapedString).toString()}`;
}

export function renderDashboard(props: DashboardPageProps): string {
  return html(<DashboardPage {...props} />);
}

export function renderDetails(props: DetailsPageProps): string {
  return html(<DetailsPage {...props} />);
}

export function renderFile(props: FilePageProps): string {
  return html(<FilePage {...props} />);
}

export function renderMessage(props: { title: string; links: Links; heading: string; text: string }): string {
  return html(
    <MessagePage title={props.title} links={props.links} heading={props.heading}>
      <p>{props.text}</p>
    </MessagePage>,
  );
}
