import type { Child, FC } from 'hono/jsx';
import { SCRIPT, STYLES } from '../assets.js';
import { BRAND } from '../brand.js';
import type { Links } from '../links.js';

export interface LayoutProps {
  title: string;
  pageTitle: string;
  links: Links;
  /** True on a page that shows costs (a record or dashboard where something cost): the units line then names them. */
  showCost?: boolean;
  children?: Child;
}

/** Every page's frame: header with the app's title, the units the numbers are in, our CSS and script. */
export const Layout: FC<LayoutProps> = function Layout({ title, pageTitle, links, showCost, children }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <meta name="referrer" content="no-referrer" />
        <title>{`${pageTitle} · ${title}`}</title>
        {/* Our constant stylesheet, allowed by hash in the CSP; never record data. */}
        <style dangerouslySetInnerHTML={{ __html: STYLES }} />
      </head>
      <body>
        <header class="top">
          <a class="brand" href={links.dashboard()}>
            {BRAND}
          </a>
          {/* The default title is the brand itself: said once. */}
          {title === BRAND ? '' : <span class="app">{title}</span>}
          <a href={links.dashboard()}>Dashboard</a>
          <span class="note">
            Times in milliseconds, UTC.{showCost ? ' Costs in µ$ (millionths of a US dollar).' : ''}
          </span>
        </header>
        <main>{children}</main>
        <script dangerouslySetInnerHTML={{ __html: SCRIPT }} />
      </body>
    </html>
  );
};
