import type { RequestSummary } from '../../core/record.js';
import type { HistoryRow } from '../aggregate.js';
import { formatCost, formatMs, formatTimestamp, pathWithQuery, statusClass } from '../format.js';
import type { Links } from '../links.js';
import { h, type SafeHtml } from '../safe-html.js';

/**
 * The history's rows: up to 1000 per page, the hot path of the dashboard. Written with hono's
 * `h` template rather than JSX because it is several times faster for this many rows (no node
 * objects, no props walk), and it escapes the same way: every `${value}` that is a string is
 * escaped by hono; only other `h` results pass through unescaped. No `raw()` anywhere.
 */
type Html = SafeHtml;

/**
 * A row's cells after its number, by part: the decoded parts are kept between views (PartCache),
 * so on a refresh only the rows of new requests are built again. The row number changes as new
 * requests arrive, so it stays out of the cached part. Weak: a part gone from the cache frees its row.
 */
const cellsCache = new WeakMap<RequestSummary, { base: string; showCost: boolean; cells: SafeHtml }>();

function historyRow(row: HistoryRow, links: Links, showCost: boolean): Html {
  const start = row.summary.start_timestamp_milliseconds;
  const cached = cellsCache.get(row.summary);
  let cells: Html;
  if (cached && cached.base === links.base && cached.showCost === showCost) {
    cells = cached.cells;
  } else {
    cells = historyCells(row, links, showCost);
    cellsCache.set(row.summary, { base: links.base, showCost, cells });
  }
  return h`<tr data-start="${String(start)}"><td>(${String(row.n)})</td>${cells}</tr>`;
}

/**
 * Everything of a row but its number: a function of the part, the base path, and whether the
 * dashboard shows costs (not when no part has any).
 */
function historyCells(row: HistoryRow, links: Links, showCost: boolean): Html {
  const { summary, calls, cost } = row;
  const start = summary.start_timestamp_milliseconds;
  // Stacks skipped by the budget leave the calls whole: not worth a badge in the history.
  const { stacks_skipped: _budget, ...cuts } = summary.incomplete ?? {};
  const incomplete =
    Object.keys(cuts).length > 0
      ? h` <span class="badge" title="Calls were pending, dropped or clipped when this record was written">incomplete</span>`
      : '';
  const callCell =
    summary.rpc_stats.length === 0
      ? '0'
      : h`<details><summary>${String(calls)}</summary><ul class="sub">${summary.rpc_stats.map(
          (stat) =>
            h`<li><code>${stat.service_call_name}</code> ×${String(stat.total_amount_of_calls)} ${formatMs(stat.total_duration_milliseconds ?? 0)} ms</li>`,
        )}</ul></details>`;
  // Alignment and fonts of the columns come from the stylesheet (#history td:nth-child): at 1000
  // rows, a class on every cell is a fifth of the page.
  return h`<td>${formatTimestamp(start)}</td><td>${summary.http_method}</td><td><a href="${links.details(start)}">${pathWithQuery(summary.http_path, summary.http_query)}</a>${incomplete}</td><td class="status-${statusClass(summary.http_status)}">${summary.http_status ? String(summary.http_status) : '—'}</td><td>${formatMs(summary.duration_milliseconds)}</td><td>${formatMs(summary.overhead_walltime_milliseconds)}</td><td>${callCell}</td>${showCost ? h`<td>${formatCost(cost)}</td>` : ''}`;
}

export function historyRows(rows: readonly HistoryRow[], links: Links, showCost: boolean): SafeHtml {
  return h`${rows.map((row) => historyRow(row, links, showCost))}`;
}
