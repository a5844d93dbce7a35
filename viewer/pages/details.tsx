import type { FC } from 'hono/jsx';
import { flaggedCalls } from '../../core/findings.js';
import type { Incompleteness, RequestRecord } from '../../core/record.js';
import { billedOpsText, callTrace } from '../components/call-trace.js';
import { FindingsList } from '../components/findings-list.js';
import { Layout } from '../components/layout.js';
import { RequestRpcStats } from '../components/request-rpc-stats.js';
import { ExpandableHeading } from '../components/section-heading.js';
import { serviceClasses, Timeline, timelineRows } from '../components/timeline.js';
import { detailsView } from '../details-view.js';
import { formatCost, formatMs, formatTimestamp, pathWithQuery, statusClass } from '../format.js';
import type { Links } from '../links.js';
import { displayEnvValue, displayQuery } from '../redact-display.js';
import { h, toJsx } from '../safe-html.js';
import { sameStackIndexes } from '../stack.js';
import { type TraceLink, traceHref } from '../trace-link.js';

export interface DetailsPageProps {
  title: string;
  links: Links;
  record: RequestRecord;
  sourceRoot: string | undefined;
  traceLink?: TraceLink;
  /** Calls open by default up to this many: a short request reads at a glance, a long one stays scannable. */
  openCallsUpTo?: number;
}

/** Call traces open by default when a request made at most this many calls. */
export const OPEN_CALLS_UP_TO = 10;

/**
 * Why RPC total passes the request, when it does: calls that overlapped (their sum is more than the
 * time a call was in flight), or calls still running after the request ended (fire and forget).
 */
function overrun(rpcTotalMs: number, inFlightMs: number, durationMs: number): string {
  if (!(durationMs > 0) || !(rpcTotalMs > durationMs)) return '';
  if (rpcTotalMs > inFlightMs) return ' (calls overlapped: summed, they pass the request)';
  return " (calls ran past the request's end)";
}

export function incompletenessNotes(incomplete: Incompleteness | undefined): string[] {
  if (!incomplete) return [];
  const notes: string[] = [];
  if (incomplete.root_pending) notes.push('the request had not ended when this record was written');
  if (incomplete.pending_calls) notes.push(`${incomplete.pending_calls} call(s) were still pending`);
  if (incomplete.dropped_calls)
    notes.push(`${incomplete.dropped_calls} call(s) beyond the per-request cap were not kept`);
  if (incomplete.calls_clipped)
    notes.push(
      `${incomplete.calls_clipped} call(s) were cut to fit the value size limit (the first ones are kept)`,
    );
  if (incomplete.stacks_dropped) notes.push('call stacks were dropped to fit the value size limit');
  if (incomplete.stacks_skipped)
    notes.push(
      'call stacks were not captured: the stack budget (maxStackTimeShare) was spent when it started',
    );
  if (incomplete.details_clipped)
    notes.push('summaries and attributes were shortened to fit the value size limit');
  if (incomplete.env_dropped) notes.push('the request environment was dropped to fit the value size limit');
  if (incomplete.rpc_stats_clipped) notes.push(`${incomplete.rpc_stats_clipped} RPC stats entries were cut`);
  if (incomplete.dropped_context)
    notes.push(`${incomplete.dropped_context} context span(s) beyond the per-request cap were not kept`);
  return notes;
}

export const DetailsPage: FC<DetailsPageProps> = function DetailsPage(props) {
  const { title, links, sourceRoot, openCallsUpTo, traceLink } = props;
  const view = detailsView(props.record);
  // Older records and foreign writers may lack it, or hold anything: shown only when a time.
  const buildMs = Number.isFinite(props.record.record_build_milliseconds)
    ? props.record.record_build_milliseconds
    : undefined;
  const { record, findings, nested, hasCosts } = view;
  const calls = record.individual_stats;
  const flagged = flaggedCalls(findings);
  const colors = serviceClasses(calls);
  const sameStack = sameStackIndexes(calls.map((call) => call.call_stack));
  const totalCost = record.rpc_stats.reduce((sum, stat) => sum + stat.total_cost_of_calls_microdollars, 0);
  const billed = new Map<string, number>();
  for (const stat of record.rpc_stats)
    for (const op of stat.total_billed_ops) billed.set(op.op, (billed.get(op.op) ?? 0) + op.num_ops);
  const inFlightShare =
    record.duration_milliseconds > 0
      ? Math.round((view.inFlightMs / record.duration_milliseconds) * 100)
      : undefined;
  const parentOf = (parentId: string | undefined) => {
    if (parentId === undefined) return undefined;
    const index = view.callIndex.get(parentId);
    if (index !== undefined) return { call: index, name: calls[index].service_call_name };
    const context = view.contextById.get(parentId);
    return context ? { context: context.name } : undefined;
  };
  const notes = incompletenessNotes(record.incomplete);
  const openAll = calls.length <= (openCallsUpTo ?? OPEN_CALLS_UP_TO);
  const start = record.start_timestamp_milliseconds;
  const rootTraceHref = traceHref(traceLink, record.trace_id, record.span_id);
  return (
    <Layout
      title={title}
      pageTitle={`${record.http_method} ${record.http_path}`}
      links={links}
      showCost={hasCosts}
    >
      <h1 class="reqline">
        <span class="mono">{record.http_method}</span>{' '}
        {pathWithQuery(record.http_path, displayQuery(record.http_query))}{' '}
        <span class={`status-${statusClass(record.http_status)}`}>{record.http_status || 'no status'}</span>
      </h1>
      <dl class="summary" id="summary">
        <dt>Time</dt>
        <dd class="mono">{formatTimestamp(start)} UTC</dd>
        <dt>Real</dt>
        <dd>
          {formatMs(record.duration_milliseconds)} ms{' '}
          <span class="muted">
            (overhead {formatMs(record.overhead_walltime_milliseconds)} ms, recorder's own time in the request
            {buildMs !== undefined ? `; building this record took ${formatMs(buildMs)} ms after it` : ''})
          </span>
        </dd>
        <dt>Calls</dt>
        <dd>
          {calls.length - nested.size}
          {nested.size > 0 ? ` (and ${nested.size} made inside them)` : ''}{' '}
          <span class="muted">
            RPC total {formatMs(view.rpcTotalMs)} ms
            {overrun(view.rpcTotalMs, view.inFlightMs, record.duration_milliseconds)}, a call in flight{' '}
            {formatMs(view.inFlightMs)} ms
            {inFlightShare !== undefined ? ` (${inFlightShare}% of the request)` : ''}
            {hasCosts ? `, cost ${formatCost(Math.round(totalCost * 1000) / 1000)} µ$` : ''}
            {hasCosts && billed.size > 0
              ? `, billed ops ${billedOpsText([...billed].map(([op, num_ops]) => ({ op, num_ops })))}`
              : ''}
          </span>
        </dd>
        <dt>Service</dt>
        <dd>{record.service_name || <span class="muted">—</span>}</dd>
        {record.http_route ? (
          <>
            <dt>Route</dt>
            <dd class="mono">{record.http_route}</dd>
          </>
        ) : null}
        {record.user_email ? (
          <>
            <dt>User</dt>
            <dd>{record.user_email}</dd>
          </>
        ) : null}
        <dt>Trace</dt>
        <dd class="mono">
          {rootTraceHref ? <a href={rootTraceHref}>{record.trace_id}</a> : record.trace_id}{' '}
          <span class="muted">span {record.span_id}</span>
        </dd>
        <dt>Export</dt>
        <dd>
          <a href={links.detailsJson(start)}>JSON</a>
        </dd>
      </dl>
      {!record.was_successful ? <div class="notice bad">The request's span ended with an error.</div> : null}
      {notes.length > 0 ? (
        <div class="notice" id="incomplete">
          <strong>Incomplete record:</strong> {notes.join('; ')}.
        </div>
      ) : null}
      {findings.length > 0 ? <FindingsList findings={findings} calls={calls} /> : null}
      <section id="timeline">
        <h2>
          Timeline <span class="muted small">click a bar for its call trace</span>
        </h2>
        <div class="body">
          <div class="legend">
            {[...colors].map(([service, cls]) => (
              <span>
                <svg width="12" height="10" aria-hidden="true">
                  <rect class={cls} width="12" height="10" />
                </svg>{' '}
                {service}
              </span>
            ))}
            <span>
              grey lane: context (handler, middleware) · striped: pending · red outline: failed · orange mark:
              flagged
            </span>
          </div>
          <Timeline
            rows={timelineRows(calls, record.context_spans)}
            durationMs={record.duration_milliseconds}
            rpcTotalMs={view.rpcTotalMs}
            inFlightMs={view.inFlightMs}
            flagged={flagged}
            colors={colors}
          />
        </div>
      </section>
      <section id="traces">
        <ExpandableHeading
          section="traces"
          title="RPC Call Traces"
          hint={`${calls.length} calls, app frames first`}
        />
        {calls.length === 0 ? <div class="body muted">This request made no calls.</div> : null}
        {toJsx(
          h`${calls.map((call, i) =>
            callTrace({
              call,
              index: i,
              kinds: flagged.get(i),
              links,
              sourceRoot,
              open: openAll,
              sameStackAs: sameStack[i],
              spanHref: traceHref(traceLink, record.trace_id, call.span_id),
              parent: parentOf(call.parent_span_id),
              showCost: hasCosts,
              nested: nested.has(call.span_id),
            }),
          )}`,
        )}
      </section>
      <RequestRpcStats record={record} nested={nested} showCost={hasCosts} />
      <section id="environment">
        <h2>
          Request Environment <span class="muted small">variables and headers, secrets redacted</span>
        </h2>
        <table>
          <tbody>
            {(record.cgi_env ?? []).map(({ key, value }) => (
              <tr>
                <th class="mono">{key}</th>
                <td class="mono breakall">{displayEnvValue(key, value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </Layout>
  );
};
