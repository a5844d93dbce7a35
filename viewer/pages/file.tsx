import type { FC } from 'hono/jsx';
import { Layout } from '../components/layout.js';
import type { Links } from '../links.js';

export interface FilePageProps {
  title: string;
  links: Links;
  /** As the page names it: relative to the source root. */
  name: string;
  lines: string[];
  line: number;
  /** Lines past the view's bound, not shown; 0 or absent when the whole file is. */
  linesCut?: number;
}

/** A source file with line numbers, the call's line highlighted; the link's `#L<n>` scrolls to it. */
export const FilePage: FC<FilePageProps> = function FilePage({ title, links, name, lines, line, linesCut }) {
  return (
    <Layout title={title} pageTitle={name} links={links}>
      <h1 class="mono">
        {name}
        {line > 0 ? `:${line}` : ''}
      </h1>
      <section>
        <table class="source">
          <tbody>
            {lines.map((text, i) => (
              <tr id={`L${i + 1}`} class={i + 1 === line ? 'hl' : undefined}>
                <td class="ln">{i + 1}</td>
                <td>{text}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {linesCut ? (
          <p class="muted" id="lines-cut">
            The file goes on for {linesCut} more lines, not shown: this view shows the first {lines.length}.
          </p>
        ) : null}
      </section>
    </Layout>
  );
};
