import type { FC } from 'hono/jsx';
import type { DatastoreDetails, RpcCall } from '../../exporter/record.js';
import type { FindingKind } from '../findings.js';
import { formatCost, formatMs } from '../format.js';
import type { Links } from '../links.js';
import { displayAttribute } from '../redact-display.js';
import { StackFrames } from './stack-frames.js';

export interface CallTraceProps {
  call: RpcCall;
  index: number;
  kinds: Set<FindingKind> | undefined;
  links: Links;
  sourceRoot: string | undefined;
  open: boolean;
}

export function billedOpsText(ops: readonly { op: string; num_ops: number }[]): string {
  return `[${ops.map((op) => `${op.op}:${op.num_ops}`).join(', ')}]`;
}

const KIND_LABEL: Record<FindingKind, string> = { 'n-plus-one': 'N+1', duplicate: 'duplicate' };

const Datastore: FC<{ details: DatastoreDetails }> = function Datastore({ details }) {
  const rows: [string, string][] = [];
  if (details.query_kind) rows.push(['Query kind', details.query_kind]);
  if (details.query_ancestor) rows.push(['Ancestor', details.query_ancestor]);
  if (details.keys_read?.length)
    rows.push([`Keys read (${details.keys_read.length})`, details.keys_read.join('\n')]);
  if (details.keys_written?.length)
    rows.push([`Keys written (${details.keys_written.length})`, details.keys_written.join('\n')]);
  if (details.get_successful_fetch?.length)
    rows.push([
      'Fetched',
      details.get_successful_fetch.map((found) => (found ? 'found' : 'missing')).join(', '),
    ]);
  for (const [key, value] of Object.entries(details)) {
    if (['query_kind', 'query_ancestor', 'keys_read', 'keys_written', 'get_successful_fetch'].includes(key))
      continue;
    rows.push([key, typeof value === 'string' ? value : JSON.stringify(value)]);
  }
  return (
    <>
      {rows.map(([label, value]) => (
        <tr>
          <th>{label}</th>
          <td class="mono breakall">
            {value.split('\n').map((line, i) => (
              <>
                {i > 0 ? <br /> : null}
                {line}
              </>
            ))}
          </td>
        </tr>
      ))}
    </>
  );
};

/** One call of the original's "RPC Call Traces": a summary line that opens to everything recorded. */
export const CallTrace: FC<CallTraceProps> = function CallTrace({
  call,
  index,
  kinds,
  links,
  sourceRoot,
  open,
}) {
  const attributes = Object.entries(call.attributes ?? {});
  return (
    <details class="trace" id={`call-${index}`} open={open}>
      <summary>
        <span class="muted mono">#{index}</span>{' '}
        <span class="mono">@{formatMs(call.start_offset_milliseconds)}ms</span>{' '}
        <strong>{call.service_call_name}</strong>{' '}
        <span>real={call.pending ? 'pending' : `${formatMs(call.duration_milliseconds)}ms`}</span>{' '}
        <span class="muted">
          cost={formatCost(call.call_cost_microdollars)} billed_ops={billedOpsText(call.billed_ops)}
        </span>
        {call.pending ? (
          <>
            {' '}
            <span class="badge">pending</span>
          </>
        ) : null}
        {!call.was_successful ? (
          <>
            {' '}
            <span class="badge bad">failed</span>
          </>
        ) : null}
        {kinds
          ? [...kinds].map((kind) => (
              <>
                {' '}
                <span class="badge">{KIND_LABEL[kind]}</span>
              </>
            ))
          : null}
      </summary>
      <div class="calldetail">
        <table>
          <tbody>
            <tr>
              <th>Request</th>
              <td class="mono breakall">{call.request_data_summary || <span class="muted">—</span>}</td>
            </tr>
            <tr>
              <th>Response</th>
              <td class="mono breakall">{call.response_data_summary || <span class="muted">—</span>}</td>
            </tr>
            {call.namespace ? (
              <tr>
                <th>Namespace</th>
                <td class="mono">{call.namespace}</td>
              </tr>
            ) : null}
            <tr>
              <th>Status</th>
              <td>
                {call.status?.code ?? (call.was_successful ? 'OK' : 'ERROR')}
                {call.status?.message ? <span class="mono">: {call.status.message}</span> : null}
              </td>
            </tr>
            <tr>
              <th>Span</th>
              <td class="mono">
                {call.span_name}{' '}
                <span class="muted">
                  ({call.span_kind}, id {call.span_id}
                  {call.parent_span_id ? `, inside ${call.parent_span_id}` : ''})
                </span>
              </td>
            </tr>
            {call.datastore_details ? <Datastore details={call.datastore_details} /> : null}
            {attributes.length > 0 ? (
              <tr>
                <th>Attributes</th>
                <td>
                  <table class="sub attributes">
                    <tbody>
                      {attributes.map(([key, value]) => (
                        <tr>
                          <td class="mono">{key}</td>
                          <td class="mono breakall">{displayAttribute(key, value)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </td>
              </tr>
            ) : null}
            <tr>
              <th>Stack</th>
              <td>
                <StackFrames frames={call.call_stack ?? []} links={links} sourceRoot={sourceRoot} />
              </td>
            </tr>
          </tbody>
        </table>
      </div>
    </details>
  );
};
