import type { FindingKind } from '../../core/findings.js';
import type { DatastoreDetails, RpcCall } from '../../core/record.js';
import { formatCost, formatMs } from '../format.js';
import type { Links } from '../links.js';
import { displayAttribute } from '../redact-display.js';
import { h, type SafeHtml } from '../safe-html.js';
import { stackFrames } from './stack-frames.js';

/**
 * One call of the original's "RPC Call Traces": a summary line that opens to everything recorded.
 * Rendered with hono's escaping `h` template (a record may hold 1000+ calls; see history-rows.ts):
 * every string interpolated is escaped, no `raw()`.
 */
type Html = SafeHtml;

export interface CallTraceProps {
  call: RpcCall;
  index: number;
  kinds: Set<FindingKind> | undefined;
  links: Links;
  sourceRoot: string | undefined;
  open: boolean;
  /** An earlier call with the very same stack (a loop's calls): shown as a link, not repeated. */
  sameStackAs?: number;
  /** This call's span in the tracing UI, when `traceLink` is configured. */
  spanHref?: string;
  /** Where it was made: inside another call (its index), or under a context span (its name). */
  parent?: { call: number; name: string } | { context: string };
  /** Show cost and billed ops (false when no call of the record cost anything). */
  showCost?: boolean;
  /** Made inside another call: indented under it. */
  nested?: boolean;
}

export function billedOpsText(ops: readonly { op: string; num_ops: number }[]): string {
  return `[${ops.map((op) => `${op.op}:${op.num_ops}`).join(', ')}]`;
}

const KIND_LABEL: Record<FindingKind, string> = {
  n_plus_one: 'N+1',
  duplicate: 'duplicate',
  parallelizable: 'parallelizable',
};
const KNOWN_DETAILS = new Set([
  'query_kind',
  'query_ancestor',
  'keys_read',
  'keys_written',
  'get_successful_fetch',
]);

/** Cells take their font and wrapping from the stylesheet (.calldetail td): 1000 calls, no classes. */
function row(label: string, value: Html | string): Html {
  return h`<tr><th>${label}</th><td>${value}</td></tr>`;
}

function lines(values: readonly string[]): Html {
  return h`${values.map((value, i) => (i > 0 ? h`<br />${value}` : value))}`;
}

function datastoreRows(details: DatastoreDetails): Html[] {
  const rows: Html[] = [];
  if (details.query_kind) rows.push(row('Query kind', details.query_kind));
  if (details.query_ancestor) rows.push(row('Ancestor', details.query_ancestor));
  if (details.keys_read?.length)
    rows.push(row(`Keys read (${details.keys_read.length})`, lines(details.keys_read.map(String))));
  if (details.keys_written?.length)
    rows.push(row(`Keys written (${details.keys_written.length})`, lines(details.keys_written.map(String))));
  if (details.get_successful_fetch?.length)
    rows.push(
      row('Fetched', details.get_successful_fetch.map((found) => (found ? 'found' : 'missing')).join(', ')),
    );
  for (const [key, value] of Object.entries(details)) {
    if (KNOWN_DETAILS.has(key)) continue;
    rows.push(row(key, typeof value === 'string' ? value : JSON.stringify(value)));
  }
  return rows;
}

const DASH = h`<span class="muted">—</span>`;

export function callTrace({
  call,
  index,
  kinds,
  links,
  sourceRoot,
  open,
  sameStackAs,
  spanHref,
  parent,
  showCost = true,
  nested = false,
}: CallTraceProps): Html {
  const attributes = Object.entries(call.attributes ?? {});
  const badges = [
    call.pending ? h` <span class="badge">pending</span>` : '',
    call.was_successful ? '' : h` <span class="badge bad">failed</span>`,
    ...(kinds ? [...kinds].map((kind) => h` <span class="badge">${KIND_LABEL[kind]}</span>`) : []),
  ];
  const real = call.pending ? 'pending' : `${formatMs(call.duration_milliseconds)}ms`;
  const status = h`${call.status?.code ?? (call.was_successful ? 'OK' : 'ERROR')}${
    call.status?.message ? h`<span class="mono">: ${call.status.message}</span>` : ''
  }`;
  const spanId = spanHref ? h`<a href="${spanHref}">${call.span_id}</a>` : call.span_id;
  const span = h`${call.span_name} <span class="muted">(${call.span_kind}, id ${spanId})</span>`;
  const madeIn = !parent
    ? ''
    : 'call' in parent
      ? row(
          'Made in',
          h`call <a href="#call-${String(parent.call)}">#${String(parent.call)}</a> ${parent.name} <span class="muted">(part of it: not counted again)</span>`,
        )
      : row('Made in', h`${parent.context} <span class="muted">(context)</span>`);
  const cost = showCost
    ? h` <span class="muted">cost=${formatCost(call.call_cost_microdollars)} billed_ops=${billedOpsText(call.billed_ops)}</span>`
    : '';
  const attributeTable =
    attributes.length > 0
      ? h`<tr><th>Attributes</th><td><table class="sub attributes"><tbody>${attributes.map(
          ([key, value]) => h`<tr><td>${key}</td><td>${displayAttribute(key, value)}</td></tr>`,
        )}</tbody></table></td></tr>`
      : '';
  return h`<details class="trace${nested ? ' nested' : ''}" id="call-${String(index)}"${open ? h` open=""` : ''}><summary><code>#${String(index)} @${formatMs(call.start_offset_milliseconds)}ms</code> <strong>${call.service_call_name}</strong> <span>real=${real}</span>${cost}${badges}</summary><div class="calldetail"><table><tbody>${row('Request', call.request_data_summary || DASH)}${row('Response', call.response_data_summary || DASH)}${
    call.namespace ? row('Namespace', call.namespace) : ''
  }${row('Status', status)}${row('Span', span)}${madeIn}${
    call.datastore_details ? datastoreRows(call.datastore_details) : ''
  }${attributeTable}${row(
    'Stack',
    sameStackAs === undefined
      ? stackFrames(call.call_stack ?? [], links, sourceRoot)
      : h`<span class="muted">same as <a href="#call-${String(sameStackAs)}">#${String(sameStackAs)}</a></span>`,
  )}</tbody></table></div></details>`;
}
