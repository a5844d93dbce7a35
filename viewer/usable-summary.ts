import type { BilledOp, FindingCount, RequestSummary, RpcStat } from '../core/record.js';

/**
 * The codec checks a record's top-level fields; the dashboard also reads inside `rpc_stats`, and a
 * value written by another version or program may hold anything there. A part the dashboard cannot
 * aggregate is skipped and counted like any unreadable value, never a 500; optional numbers that
 * are missing read as 0, so an older or newer writer's parts still show.
 *
 * The part is fixed in place, not copied: it was just parsed and nothing else holds it, and a cold
 * dashboard runs this on 1000 parts (copying each was half of their decoding time).
 */
function finite(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function isBilledOp(op: unknown): boolean {
  return typeof (op as BilledOp)?.op === 'string' && Number.isFinite((op as BilledOp)?.num_ops);
}

/** False when the entry cannot be an rpc_stats entry at all; else fixes its optional fields. */
function usableStat(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const stat = value as Partial<RpcStat>;
  if (typeof stat.service_call_name !== 'string' || !Number.isFinite(stat.total_amount_of_calls))
    return false;
  if (!Number.isFinite(stat.total_cost_of_calls_microdollars)) stat.total_cost_of_calls_microdollars = 0;
  if (!Number.isFinite(stat.total_duration_milliseconds)) stat.total_duration_milliseconds = 0;
  if (!Array.isArray(stat.total_billed_ops)) stat.total_billed_ops = [];
  else if (!stat.total_billed_ops.every(isBilledOp))
    stat.total_billed_ops = stat.total_billed_ops.filter(isBilledOp);
  return true;
}

const FINDING_KINDS = new Set(['n_plus_one', 'duplicate', 'parallelizable']);

function isFindingCount(value: unknown): boolean {
  const finding = value as FindingCount | null;
  return (
    typeof finding === 'object' &&
    finding !== null &&
    FINDING_KINDS.has(finding.kind) &&
    typeof finding.call_name === 'string' &&
    Number.isFinite(finding.count)
  );
}

/** The part as the dashboard reads it (fixed in place), or undefined when it cannot be read so. */
export function usableSummary(summary: RequestSummary): RequestSummary | undefined {
  if (!summary.rpc_stats.every(usableStat)) return undefined;
  if (typeof summary.http_query !== 'string') summary.http_query = '';
  summary.http_status = finite(summary.http_status);
  summary.overhead_walltime_milliseconds = finite(summary.overhead_walltime_milliseconds);
  summary.duration_milliseconds = finite(summary.duration_milliseconds);
  if (summary.http_route !== undefined && typeof summary.http_route !== 'string') delete summary.http_route;
  if (typeof summary.was_successful !== 'boolean') summary.was_successful = summary.was_successful !== false;
  if (
    summary.incomplete !== undefined &&
    (typeof summary.incomplete !== 'object' || summary.incomplete === null)
  )
    delete summary.incomplete;
  // The dashboard's hints and waiting times: a field it cannot read is left out, never guessed.
  if (
    summary.rpc_in_flight_milliseconds !== undefined &&
    !Number.isFinite(summary.rpc_in_flight_milliseconds)
  )
    delete summary.rpc_in_flight_milliseconds;
  if (summary.findings !== undefined) {
    if (!Array.isArray(summary.findings)) delete summary.findings;
    else if (!summary.findings.every(isFindingCount))
      summary.findings = summary.findings.filter(isFindingCount);
  }
  return summary;
}
