import type { FC } from 'hono/jsx';
import type { Dashboard } from '../aggregate.js';
import { Filters } from '../components/dashboard-filters.js';
import { HistoryTable } from '../components/history-table.js';
import { Layout } from '../components/layout.js';
import { PathStatsTable } from '../components/path-stats-table.js';
import { RpcStatsTable } from '../components/rpc-stats-table.js';
import { type DashboardQuery, isFiltered, queryParams } from '../dashboard-query.js';
import { formatCost, formatMs } from '../format.js';
import type { Links } from '../links.js';
import type { PartsRead } from '../read-records.js';

export interface DashboardPageProps {
  title: string;
  links: Links;
  query: DashboardQuery;
  dashboard: Dashboard;
  read: PartsRead;
  /** Where the viewer reads: shown in the empty state, where a mismatch is the usual cause. */
  source: { store: string; keyPrefix: string; slots: number; slotMs: number };
}

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
      {`; ${dashboard.calls} calls${dashboard.show_cost ? `, cost ${formatCost(dashboard.cost)} µ$` : ''}.`}
      {dashboard.in_flight_ms === undefined ? null : (
        <span data-in-flight>
          {` A call was in flight ${(dashboard.in_flight_percent ?? 0).toFixed(0)}% of the requests' time (${formatMs(dashboard.in_flight_ms)} ms a request).`}
        </span>
      )}
    </p>
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
          key prefix <code>{source.keyPrefix}</code>, one per {source.slotMs} ms of start time, each holding
          the latest request written to it, in {source.store}).
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

export const DashboardPage: FC<DashboardPageProps> = function DashboardPage(props) {
  const { dashboard, read, query, links } = props;
  const filtered = isFiltered(query);
  const showCost = dashboard.show_cost;
  const jsonParams = queryParams(query);
  jsonParams.set('type', 'json');
  return (
    <Layout title={props.title} pageTitle="Dashboard" links={links} showCost={showCost}>
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
          <RpcStatsTable rows={dashboard.rpcs} query={query} links={links} showCost={showCost} />
          <PathStatsTable rows={dashboard.paths} query={query} links={links} showCost={showCost} />
          <HistoryTable rows={dashboard.history} query={query} links={links} showCost={showCost} />
        </>
      )}
    </Layout>
  );
};
