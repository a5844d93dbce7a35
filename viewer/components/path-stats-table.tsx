import type { FC } from 'hono/jsx';
import type { PathRow } from '../aggregate.js';
import type { DashboardQuery } from '../dashboard-query.js';
import { hintLabel, hintTitle } from '../finding-hints.js';
import { formatCost, formatMs, formatPercent, formatTimestamp } from '../format.js';
import type { Links } from '../links.js';
import { BreakdownTable } from './breakdown-table.js';
import { ExpandableHeading } from './section-heading.js';
import { SortHeader } from './sort-header.js';

/** The findings the path's requests had, as their parts carry them: nothing guessed from counts. */
const FindingHints: FC<{ row: PathRow }> = function FindingHints({ row }) {
  if (row.repeated.length === 0) return null;
  return (
    <div class="findings">
      {row.repeated.map((hint) => (
        <span class="badge" data-finding={hint.kind} title={hintTitle(hint, row.requests)}>
          {hintLabel(hint)}
        </span>
      ))}
    </div>
  );
};

/** `12.35 ms (61%)`, or `—` when no part of the path says (older writers). */
export function inFlightText(row: { in_flight_ms?: number; in_flight_percent?: number }): string {
  if (row.in_flight_ms === undefined) return '—';
  return `${formatMs(row.in_flight_ms)} ms (${(row.in_flight_percent ?? 0).toFixed(0)}%)`;
}

const IN_FLIGHT_TITLE =
  "Mean time per request with at least one call in flight, and its share of the requests' duration: time spent waiting on calls (requests recorded before this was measured are left out)";

/** The dashboard's Path Stats: one row per method and route. */
export const PathStatsTable: FC<{ rows: PathRow[]; query: DashboardQuery; links: Links; showCost: boolean }> =
  function PathStatsTable({ rows, query, links, showCost }) {
    const sort = { field: 'pathSort' as const, query, links, anchor: 'path-stats' };
    return (
      <section id="path-stats">
        <ExpandableHeading
          section="path-stats"
          title="Path Stats"
          hint="one row per method and route; open a row for its calls"
        />
        <table>
          <thead>
            <tr>
              <SortHeader label="Path" sortKey="path" {...sort} />
              <SortHeader label="Requests" sortKey="requests" numeric {...sort} />
              <SortHeader
                label="Calls"
                sortKey="calls"
                numeric
                {...sort}
                title="RPCs across these requests"
              />
              {showCost ? <SortHeader label="Cost µ$" sortKey="cost" numeric {...sort} /> : null}
              {showCost ? <th class="num">Cost %</th> : null}
              <SortHeader label="Mean ms" sortKey="mean" numeric {...sort} />
              <SortHeader
                label="Calls in flight"
                sortKey="inflight"
                numeric
                {...sort}
                title={IN_FLIGHT_TITLE}
              />
              <SortHeader label="p50" sortKey="p50" numeric {...sort} />
              <SortHeader label="p95" sortKey="p95" numeric {...sort} />
              <SortHeader label="p99" sortKey="p99" numeric {...sort} />
              <SortHeader
                label="Errors"
                sortKey="errors"
                numeric
                {...sort}
                title="Share of requests answered 5xx or ended in error"
              />
              <th>Most recent</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr data-path={row.path}>
                <td>
                  <details>
                    <summary>{row.path}</summary>
                    <BreakdownTable
                      label="RPC"
                      asCode
                      showCost={showCost}
                      rows={row.by_rpc.map((r) => ({
                        name: r.service_call_name,
                        count: r.count,
                        total_ms: r.total_ms,
                        cost: r.cost,
                      }))}
                    />
                  </details>
                  <FindingHints row={row} />
                </td>
                <td class="num">{row.requests}</td>
                <td class="num">{row.calls}</td>
                {showCost ? <td class="num">{formatCost(row.cost)}</td> : null}
                {showCost ? <td class="num">{row.cost_percent.toFixed(1)}%</td> : null}
                <td class="num">{formatMs(row.mean_ms)}</td>
                <td class="num">{inFlightText(row)}</td>
                <td class="num">{formatMs(row.p50_ms)}</td>
                <td class="num">{formatMs(row.p95_ms)}</td>
                <td class="num">{formatMs(row.p99_ms)}</td>
                <td class={`num${row.errors > 0 ? ' status-5xx' : ''}`}>
                  {formatPercent(row.errors, row.requests)}
                </td>
                <td class="nowrap">
                  {row.recent.map((r) => (
                    <>
                      <a href={links.details(r.start)} title={formatTimestamp(r.start)}>
                        ({r.n})
                      </a>{' '}
                    </>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    );
  };
