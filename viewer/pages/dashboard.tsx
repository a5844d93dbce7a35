import type { FC } from 'hono/jsx';
import type { Dashboard, HistoryRow, PathRow, RpcRow } from '../aggregate.js';
import { historyRows } from '../components/history-rows.js';
import { Layout } from '../components/layout.js';
import { ExpandableHeading } from '../components/section-heading.js';
import { SortHeader } from '../components/sort-header.js';
import { type DashboardQuery, formatSort, isFiltered, queryParams, SORT_PARAMS } from '../dashboard-query.js';
import { formatCost, formatMs, formatPercent, formatTimestamp } from '../format.js';
import type { Links } from '../links.js';
import type { PartsRead } from '../read-records.js';
import { toJsx } from '../safe-html.js';

export interface DashboardPageProps {
  title: string;
  links: Links;
  query: DashboardQuery;
  dashboard: Dashboard;
  read: PartsRead;
  /** Where the viewer reads: shown in the empty state, where a mismatch is the usual cause. */
  source: { store: string; keyPrefix: string; slots: number; windowSeconds: number };
}

const STATUS_OPTIONS = ['', '2xx', '3xx', '4xx', '5xx', 'none'];

const Counts: FC<{ dashboard: Dashboard; read: PartsRead; filtered: boolean }> = function Counts({
  dashboard,
  read,
  filtered,
}) {
  const reasons = Object.entries(read.skippedReasons)
    .map(([reason, count]) => `${count} ${reason}`)
    .join(', ');
  return (
    <p class="counts" id="counts">
      <span data-records-read={String(read.summaries.length)}>{read.summaries.length} records read</span>
      {filtered ? <span>, {dashboard.requests} match the filters</span> : null}
      {', '}
      <span data-records-skipped={String(read.skipped)}>
        {read.skipped} skipped as unreadable{read.skipped > 0 ? ` (${reasons})` : ''}
      </span>
      {`; ${dashboard.calls} calls, cost ${formatCost(dashboard.cost)} µ$.`}
    </p>
  );
};

const Filters: FC<{ query: DashboardQuery; links: Links; methods: string[] }> = function Filters({
  query,
  links,
  methods,
}) {
  const methodOptions = [...new Set(['', ...methods, ...(query.method ? [query.method] : [])])];
  return (
    <form class="filters" method="get" action={links.dashboard()}>
      <label>
        Path contains
        <input type="text" name="path" value={query.path} placeholder="/users" size={24} />
      </label>
      <label>
        Method
        <select name="method">
          {methodOptions.map((m) => (
            <option value={m} selected={m === query.method}>
              {m || 'any'}
            </option>
          ))}
        </select>
      </label>
      <label>
        Status
        <select name="status">
          {STATUS_OPTIONS.map((s) => (
            <option value={s} selected={s === query.status}>
              {s || 'any'}
            </option>
          ))}
        </select>
      </label>
      <label>
        Min duration (ms)
        <input
          type="number"
          name="min_ms"
          min="0"
          step="any"
          value={query.minMs > 0 ? String(query.minMs) : ''}
          size={6}
        />
      </label>
      {(['historySort', 'pathSort', 'rpcSort'] as const).map((field) => {
        const params = queryParams(query);
        const value = params.get(SORT_PARAMS[field]);
        return value ? <input type="hidden" name={SORT_PARAMS[field]} value={value} /> : null;
      })}
      <button type="submit">Filter</button>
      {isFiltered(query) ? <a href={links.dashboard()}>Clear filters</a> : null}
    </form>
  );
};

const EmptyState: FC<{ source: DashboardPageProps['source']; filtered: boolean; links: Links }> =
  function EmptyState({ source, filtered, links }) {
    if (filtered) {
      return (
        <div class="empty" id="empty">
          <p>
            No recorded request matches these filters. <a href={links.dashboard()}>Show all requests</a>.
          </p>
        </div>
      );
    }
    return (
      <div class="empty" id="empty">
        <p>
          <strong>No requests recorded</strong> in the slots this viewer reads ({source.slots} slots under the
          key prefix <code>{source.keyPrefix}</code>, the last {source.windowSeconds} seconds of requests,
          from {source.store}).
        </p>
        <p>This is often a configuration problem:</p>
        <ul>
          <li>
            Is the recorder on in the app? <code>node --import otel-appstats/register app.js</code>, or an{' '}
            <code>AppstatsSpanProcessor</code> in your OpenTelemetry setup, and an HTTP instrumentation making
            SERVER spans.
          </li>
          <li>
            Do the app and this viewer use the same memcache and the same key prefix (
            <code>APPSTATS_MEMCACHE</code>, <code>keyPrefix</code>)? With no memcache configured, the app
            keeps records in its own memory, where a viewer in another process cannot see them.
          </li>
          <li>
            Requests to the viewer itself, paths in <code>ignorePaths</code>, and requests sampled out by{' '}
            <code>recordFraction</code> or <code>shouldRecord</code> are not recorded. Records expire after 36
            hours by default, and each slot holds the latest request of its {source.slots}-slot cycle.
          </li>
        </ul>
      </div>
    );
  };

/** The row of an RPC opened to its paths, or of a path opened to its RPCs: the same four columns. */
const BreakdownTable: FC<{
  label: string;
  asCode?: boolean;
  rows: { name: string; count: number; total_ms: number; cost: number }[];
}> = function BreakdownTable({ label, asCode, rows }) {
  return (
    <table class="sub">
      <thead>
        <tr>
          <th>{label}</th>
          <th class="num">Count</th>
          <th class="num">Total ms</th>
          <th class="num">Cost µ$</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr>
            <td>{asCode ? <code>{r.name}</code> : r.name}</td>
            <td class="num">{r.count}</td>
            <td class="num">{formatMs(r.total_ms)}</td>
            <td class="num">{formatCost(r.cost)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
};

const RpcStatsTable: FC<{ rows: RpcRow[]; query: DashboardQuery; links: Links }> = function RpcStatsTable({
  rows,
  query,
  links,
}) {
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
            <SortHeader label="Cost µ$" sortKey="cost" numeric {...sort} />
            <th class="num">Cost %</th>
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
              <td class="num">{formatCost(row.cost)}</td>
              <td class="num">{row.cost_percent.toFixed(1)}%</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
};

const Repeated: FC<{ row: PathRow }> = function Repeated({ row }) {
  if (row.repeated.length === 0) return null;
  return (
    <div class="findings">
      {row.repeated.map((r) => (
        <span
          class="badge"
          title={`${r.service_call_name} was called ${r.max_per_request} times in one request (${r.requests} of ${row.requests} requests): a likely N+1 or duplicate calls; the details page of a recent request tells which.`}
        >
          {`N+1? ${r.service_call_name} ×${r.max_per_request}`}
        </span>
      ))}
    </div>
  );
};

const PathStatsTable: FC<{ rows: PathRow[]; query: DashboardQuery; links: Links }> = function PathStatsTable({
  rows,
  query,
  links,
}) {
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
            <SortHeader label="Calls" sortKey="calls" numeric {...sort} title="RPCs across these requests" />
            <SortHeader label="Cost µ$" sortKey="cost" numeric {...sort} />
            <th class="num">Cost %</th>
            <SortHeader label="Mean ms" sortKey="mean" numeric {...sort} />
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
                    rows={row.by_rpc.map((r) => ({
                      name: r.service_call_name,
                      count: r.count,
                      total_ms: r.total_ms,
                      cost: r.cost,
                    }))}
                  />
                </details>
                <Repeated row={row} />
              </td>
              <td class="num">{row.requests}</td>
              <td class="num">{row.calls}</td>
              <td class="num">{formatCost(row.cost)}</td>
              <td class="num">{row.cost_percent.toFixed(1)}%</td>
              <td class="num">{formatMs(row.mean_ms)}</td>
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

const HistoryTable: FC<{ rows: HistoryRow[]; query: DashboardQuery; links: Links }> = function HistoryTable({
  rows,
  query,
  links,
}) {
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
            <SortHeader label="Cost µ$" sortKey="cost" numeric {...sort} />
          </tr>
        </thead>
        <tbody>{toJsx(historyRows(rows, links))}</tbody>
      </table>
    </section>
  );
};

export const DashboardPage: FC<DashboardPageProps> = function DashboardPage(props) {
  const { dashboard, read, query, links } = props;
  const filtered = isFiltered(query);
  const jsonParams = queryParams(query);
  jsonParams.set('type', 'json');
  return (
    <Layout title={props.title} pageTitle="Dashboard" links={links}>
      <h1>
        Dashboard{' '}
        <span class="small">
          <a href={links.dashboard(queryParams(query))}>Refresh now</a>
          {' · '}
          <a href={links.dashboard(jsonParams)}>JSON</a>
          <label hidden>
            {' · '}
            <input type="checkbox" id="autorefresh" /> auto-refresh (10 s)
          </label>
        </span>
      </h1>
      {read.storeErrors > 0 ? (
        <div class="notice bad" id="store-errors">
          <strong>The store did not answer fully</strong> ({read.storeErrors} error
          {read.storeErrors === 1 ? '' : 's'}): what follows may be missing requests.
          <ul>
            {read.storeErrorMessages.map((m) => (
              <li>
                <code>{m}</code>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <Counts dashboard={dashboard} read={read} filtered={filtered} />
      <Filters query={query} links={links} methods={dashboard.methods} />
      {dashboard.requests === 0 ? (
        // A store that did not answer has said so above; "No requests recorded" would point at the recorder.
        read.storeErrors > 0 && read.summaries.length === 0 ? null : (
          <EmptyState source={props.source} filtered={filtered} links={links} />
        )
      ) : (
        <>
          <RpcStatsTable rows={dashboard.rpcs} query={query} links={links} />
          <PathStatsTable rows={dashboard.paths} query={query} links={links} />
          <HistoryTable rows={dashboard.history} query={query} links={links} />
        </>
      )}
    </Layout>
  );
};

/** Kept for the JSON view: the query as the page understood it. */
export function describeQuery(query: DashboardQuery): Record<string, string | number> {
  return {
    path: query.path,
    method: query.method,
    status: query.status,
    min_ms: query.minMs,
    hsort: formatSort(query.historySort),
    psort: formatSort(query.pathSort),
    rsort: formatSort(query.rpcSort),
  };
}
