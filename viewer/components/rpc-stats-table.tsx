import type { FC } from 'hono/jsx';
import type { RpcRow } from '../aggregate.js';
import type { DashboardQuery } from '../dashboard-query.js';
import { formatCost, formatMs } from '../format.js';
import type { Links } from '../links.js';
import { BreakdownTable } from './breakdown-table.js';
import { ExpandableHeading } from './section-heading.js';
import { SortHeader } from './sort-header.js';

/** The dashboard's RPC Stats: one row per call name (outermost calls, from the parts' rpc_stats). */
export const RpcStatsTable: FC<{ rows: RpcRow[]; query: DashboardQuery; links: Links; showCost: boolean }> =
  function RpcStatsTable({ rows, query, links, showCost }) {
    const sort = { field: 'rpcSort' as const, query, links, anchor: 'rpc-stats' };
    return (
      <section id="rpc-stats">
        <ExpandableHeading
          section="rpc-stats"
          title="RPC Stats"
          hint="one row per call name; open a row for its paths"
        />
        <table>
          <thead>
            <tr>
              <SortHeader label="RPC" sortKey="name" {...sort} />
              <SortHeader label="Count" sortKey="count" numeric {...sort} />
              <SortHeader
                label="Total ms"
                sortKey="total"
                numeric
                {...sort}
                title="Sum of the calls' durations"
              />
              <SortHeader label="Mean ms" sortKey="mean" numeric {...sort} />
              {showCost ? <SortHeader label="Cost µ$" sortKey="cost" numeric {...sort} /> : null}
              {showCost ? <th class="num">Cost %</th> : null}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr data-rpc={row.service_call_name}>
                <td>
                  <details>
                    <summary>
                      <code>{row.service_call_name}</code>
                    </summary>
                    <BreakdownTable
                      label="Path"
                      showCost={showCost}
                      rows={row.by_path.map((p) => ({
                        name: p.path,
                        count: p.count,
                        total_ms: p.total_ms,
                        cost: p.cost,
                      }))}
                    />
                  </details>
                </td>
                <td class="num">{row.count}</td>
                <td class="num">{formatMs(row.total_ms)}</td>
                <td class="num">{formatMs(row.mean_ms)}</td>
                {showCost ? <td class="num">{formatCost(row.cost)}</td> : null}
                {showCost ? <td class="num">{row.cost_percent.toFixed(1)}%</td> : null}
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    );
  };
