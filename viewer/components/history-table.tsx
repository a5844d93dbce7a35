import type { FC } from 'hono/jsx';
import type { HistoryRow } from '../aggregate.js';
import type { DashboardQuery } from '../dashboard-query.js';
import type { Links } from '../links.js';
import { toJsx } from '../safe-html.js';
import { historyRows } from './history-rows.js';
import { ExpandableHeading } from './section-heading.js';
import { SortHeader } from './sort-header.js';

/** The dashboard's Requests History: the headings here, the (many) rows built by `historyRows`. */
export const HistoryTable: FC<{
  rows: HistoryRow[];
  query: DashboardQuery;
  links: Links;
  showCost: boolean;
}> = function HistoryTable({ rows, query, links, showCost }) {
  const sort = { field: 'historySort' as const, query, links, anchor: 'history' };
  return (
    <section id="history">
      <ExpandableHeading
        section="history"
        title="Requests History"
        hint="newest first; open the calls for per-RPC counts"
      />
      <table>
        <thead>
          <tr>
            <th class="num">#</th>
            <SortHeader label="Time (UTC)" sortKey="time" {...sort} />
            <SortHeader label="Method" sortKey="method" {...sort} />
            <SortHeader label="Path?query" sortKey="path" {...sort} />
            <SortHeader label="Status" sortKey="status" numeric {...sort} />
            <SortHeader label="Real ms" sortKey="duration" numeric {...sort} />
            <SortHeader
              label="Overhead ms"
              sortKey="overhead"
              numeric
              {...sort}
              title="Time otel-appstats spent in the request"
            />
            <SortHeader label="Calls" sortKey="calls" numeric {...sort} />
            {showCost ? <SortHeader label="Cost µ$" sortKey="cost" numeric {...sort} /> : null}
          </tr>
        </thead>
        <tbody>{toJsx(historyRows(rows, links, showCost))}</tbody>
      </table>
    </section>
  );
};
