import type { FindingCount, RequestSummary } from '../core/record.js';

/**
 * The dashboard's per-path hints: the findings the writer counted into each part (`findFindings`,
 * core/findings.ts), gathered per path. A hint must be true (docs/viewer.md, "Findings"),
 * so it is never guessed from call counts: a name called ten times may be a pipeline, a
 * `Promise.all` or pool checkouts. Parts without `findings` (older writers, or no finding) give none.
 */
export interface FindingHint {
  kind: FindingCount['kind'];
  /** The finding's call name (for parallelizable: the first call's). */
  service_call_name: string;
  /** The most calls involved in one request. */
  max_per_request: number;
  /** Requests of the path that had this finding. */
  requests: number;
}

const KIND_ORDER: Record<FindingCount['kind'], number> = { n_plus_one: 0, duplicate: 1, parallelizable: 2 };

export type HintAccumulator = Map<string, FindingHint>;

/** Adds one request's findings: a kind and name found twice in it counts once, at its largest. */
export function addFindingHints(hints: HintAccumulator, summary: Pick<RequestSummary, 'findings'>): void {
  const findings = summary.findings;
  if (!Array.isArray(findings) || findings.length === 0) return;
  const largest = new Map<string, FindingCount>();
  for (const finding of findings) {
    const key = `${finding.kind}\u0000${finding.call_name}`;
    const seen = largest.get(key);
    if (!seen || finding.count > seen.count) largest.set(key, finding);
  }
  for (const [key, finding] of largest) {
    const hint = hints.get(key);
    if (hint) {
      hint.requests++;
      hint.max_per_request = Math.max(hint.max_per_request, finding.count);
    } else
      hints.set(key, {
        kind: finding.kind,
        service_call_name: finding.call_name,
        max_per_request: finding.count,
        requests: 1,
      });
  }
}

/** The hints of a path: N+1 first (the bigger win), then duplicates, then parallelizable; larger first. */
export function sortedHints(hints: HintAccumulator): FindingHint[] {
  return [...hints.values()].sort(
    (a, b) =>
      KIND_ORDER[a.kind] - KIND_ORDER[b.kind] ||
      b.max_per_request - a.max_per_request ||
      (a.service_call_name < b.service_call_name ? -1 : a.service_call_name > b.service_call_name ? 1 : 0),
  );
}

/** The badge's text: what the finding is, in a few words. */
export function hintLabel(hint: FindingHint): string {
  if (hint.kind === 'n_plus_one') return `N+1 ${hint.service_call_name} ×${hint.max_per_request}`;
  if (hint.kind === 'duplicate') return `duplicate ${hint.service_call_name} ×${hint.max_per_request}`;
  return `parallelizable ×${hint.max_per_request}`;
}

/** The badge's title: what the finding means, how often, and where to see the calls. */
export function hintTitle(hint: FindingHint, pathRequests: number): string {
  const often = `in ${hint.requests} of ${pathRequests} requests`;
  const where = 'The details page of a request lists the calls.';
  if (hint.kind === 'n_plus_one')
    return `N+1: up to ${hint.max_per_request} sequential ${hint.service_call_name} calls of one shape from one line in a request (${often}): one batched call would do. ${where}`;
  if (hint.kind === 'duplicate')
    return `Duplicate calls: ${hint.service_call_name} made up to ${hint.max_per_request} times with the same complete request in a request (${often}): the answer was already known. ${where}`;
  return `Parallelizable: up to ${hint.max_per_request} calls made one after another from one function, starting with ${hint.service_call_name} (${often}), could run together if independent. ${where}`;
}
