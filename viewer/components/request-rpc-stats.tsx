import type { FC } from 'hono/jsx';
import { fingerprint } from '../../core/call-names.js';
import type { RequestRecord } from '../../core/record.js';
import { formatCost, formatMs } from '../format.js';
import { billedOpsText } from './call-trace.js';

/** Statements shown per RPC row: the most frequent shapes behind the name. */
const TOP_STATEMENTS = 5;

type Shape = { shape: string; count: number; total_ms: number };

/** Per call name, its statements (literals normalised), by count, then total time. Pure. */
export function topStatements(
  record: Pick<RequestRecord, 'individual_stats'>,
  nested: ReadonlySet<string>,
): Map<string, Shape[]> {
  const byName = new Map<string, Map<string, Shape>>();
  for (const call of record.individual_stats) {
    if (nested.has(call.span_id) || !call.request_data_summary) continue;
    const shape = fingerprint(call.request_data_summary);
    let shapes = byName.get(call.service_call_name);
    if (!shapes) {
      shapes = new Map();
      byName.set(call.service_call_name, shapes);
    }
    const entry = shapes.get(shape) ?? { shape, count: 0, total_ms: 0 };
    entry.count++;
    entry.total_ms += call.duration_milliseconds;
    shapes.set(shape, entry);
  }
  const top = new Map<string, Shape[]>();
  for (const [name, shapes] of byName)
    top.set(
      name,
      [...shapes.values()]
        .sort((a, b) => b.count - a.count || b.total_ms - a.total_ms)
        .slice(0, TOP_STATEMENTS),
    );
  return top;
}

/** One request's RPC Stats (the original's table), each name opening to the statements behind it. */
export const RequestRpcStats: FC<{ record: RequestRecord; nested: ReadonlySet<string>; showCost: boolean }> =
  function RequestRpcStats({ record, nested, showCost }) {
    const statements = topStatements(record, nested);
    return (
      <section id="rpc-stats">
        <h2>
          RPC Stats <span class="muted small">outermost calls; a call made inside another is part of it</span>
        </h2>
        <table>
          <thead>
            <tr>
              <th>RPC</th>
              <th class="num">Count</th>
              <th class="num">Real ms</th>
              {showCost ? (
                <>
                  <th class="num">Cost µ$</th>
                  <th>Billed ops</th>
                </>
              ) : null}
            </tr>
          </thead>
          <tbody>
            {record.rpc_stats.map((stat) => {
              const shapes = statements.get(stat.service_call_name) ?? [];
              return (
                <tr>
                  <td>
                    {shapes.length > 0 ? (
                      <details class="statements">
                        <summary>
                          <code>{stat.service_call_name}</code>
                        </summary>
                        <table class="sub">
                          <tbody>
                            {shapes.map((s) => (
                              <tr>
                                <td class="mono breakall">{s.shape}</td>
                                <td class="num">×{s.count}</td>
                                <td class="num">{formatMs(s.total_ms)} ms</td>
                              </tr>
                            ))}
                          </tbody>
                        </table>
                      </details>
                    ) : (
                      <code>{stat.service_call_name}</code>
                    )}
                  </td>
                  <td class="num">{stat.total_amount_of_calls}</td>
                  <td class="num">{formatMs(stat.total_duration_milliseconds ?? 0)}</td>
                  {showCost ? (
                    <>
                      <td class="num">{formatCost(stat.total_cost_of_calls_microdollars)}</td>
                      <td class="mono">{billedOpsText(stat.total_billed_ops)}</td>
                    </>
                  ) : null}
                </tr>
              );
            })}
          </tbody>
        </table>
      </section>
    );
  };
