import type { Child, FC } from 'hono/jsx';
import { Layout } from '../components/layout.js';
import type { Links } from '../links.js';

/** A short page saying what went wrong and where to go from there (stale key, missing file, ...). */
export const MessagePage: FC<{ title: string; links: Links; heading: string; children?: Child }> =
  function MessagePage({ title, links, heading, children }) {
    return (
      <Layout title={title} pageTitle={heading} links={links}>
        <h1>{heading}</h1>
        <div class="body">{children}</div>
        <p>
          <a href={links.dashboard()}>Back to the dashboard</a>
        </p>
      </Layout>
    );
  };
