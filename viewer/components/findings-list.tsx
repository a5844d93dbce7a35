import type { FC } from 'hono/jsx';
import type { Finding } from '../../core/findings.js';
import type { RpcCall } from '../../core/record.js';
import { formatMs } from '../format.js';

const BADGE: Record<Finding['kind'], string> = {
  n_plus_one: 'N+1',
  duplicate: 'duplicate',
  parallelizable: 'parallelizable',
};

/** The findings of a request (core/findings.ts), each with the calls involved, linked. */
export const FindingsList: FC<{ findings: Finding[]; calls: readonly RpcCall[] }> = function FindingsList({
  findings,
  calls,
}) {
  return (
    <section id="findings">
      <h2>
        Findings{' '}
        <span class="muted small">
          calls that could be batched, cached or run together (how they are decided: docs/viewer.md)
        </span>
      </h2>
      <div class="body">
        <ul class="findings">
          {findings.map((finding) => (
            <li data-finding={finding.kind}>
              <span class="badge">{BADGE[finding.kind]}</span> {finding.message} (
              {formatMs(finding.total_duration_milliseconds)} ms in all)
              {finding.request_data_summary ? (
                <>
                  : <code>{finding.request_data_summary}</code>
                </>
              ) : null}
              .{' '}
              <span class="small">
                Calls:{' '}
                {finding.calls.map((i) => (
                  <>
                    <a href={`#call-${i}`} title={`@${formatMs(calls[i]?.start_offset_milliseconds ?? 0)}ms`}>
                      #{i}
                    </a>{' '}
                  </>
                ))}
              </span>
            </li>
          ))}
        </ul>
      </div>
    </section>
  );
};
