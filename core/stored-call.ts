import { isObject } from './is-object.js';
import type { RpcCall, StackFrame } from './record.js';

/**
 * A call as stored (format 2): the fields still at their default are left out. Most calls of a
 * request are alike (no cost, no namespace, UNSET status, a CLIENT span named as its call), and
 * those fields were a third of a full record's JSON; stringifying and deflating it is most of what
 * recording costs the app. `expandedCall` puts them back, so readers always see a whole `RpcCall`.
 */
/** A stored call may name an earlier call with the same stack instead of repeating it. */
type StoredCall = Partial<RpcCall> & { same_stack_as?: number };

/** Distinct stacks compared per key (see `StackIndex`): encoding stays linear in the calls. */
const MAX_STACKS_PER_KEY = 8;

/** Same frames in the same order. Frames are often the very same objects (call-site.ts caches them). */
function sameStack(a: readonly StackFrame[], b: readonly StackFrame[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (
      x !== y &&
      (!x ||
        !y ||
        x.class_or_file_name !== y.class_or_file_name ||
        x.line_number !== y.line_number ||
        x.column_number !== y.column_number ||
        x.function_name !== y.function_name ||
        x.variables !== undefined ||
        y.variables !== undefined)
    )
      return false;
  }
  return true;
}

/**
 * Finds, for each call's stack, the first earlier call with the same one. The calls of a loop (an
 * N+1, a batch) share their stack: stored once, they cost the app one stack's JSON and deflate
 * instead of one per call, and the details page parses one.
 */
class StackIndex {
  /** First call of each distinct stack, by a key of its length, innermost and outermost frames. */
  private readonly _firsts = new Map<string, number[]>();
  constructor(private readonly _calls: readonly RpcCall[]) {}

  /** The index of an earlier call with this call's stack, else undefined (and this call is remembered). */
  earlierWithSameStack(index: number): number | undefined {
    const stack = this._calls[index].call_stack;
    const top = stack[0];
    const bottom = stack[stack.length - 1];
    const key = `${stack.length}:${top?.line_number}:${top?.column_number}:${top?.class_or_file_name}:${bottom?.line_number}:${bottom?.class_or_file_name}`;
    const candidates = this._firsts.get(key);
    if (!candidates) {
      this._firsts.set(key, [index]);
      return undefined;
    }
    for (const candidate of candidates)
      if (sameStack(this._calls[candidate].call_stack, stack)) return candidate;
    // Bounded work on the app's thread: stacks alike at both ends but different inside are rare;
    // past a few of them, later ones are simply stored whole.
    if (candidates.length < MAX_STACKS_PER_KEY) candidates.push(index);
    return undefined;
  }
}

function storedCall(call: RpcCall, index: number, stacks: StackIndex): StoredCall {
  // A hand-made record (a test, another writer) may hold anything here: stored as it is.
  if (
    !isObject(call) ||
    !Array.isArray(call.call_stack) ||
    !Array.isArray(call.billed_ops) ||
    !isObject(call.status) ||
    !isObject(call.attributes)
  )
    return call;
  const stored: StoredCall = {
    service_call_name: call.service_call_name,
    request_data_summary: call.request_data_summary,
    response_data_summary: call.response_data_summary,
    start_offset_milliseconds: call.start_offset_milliseconds,
    duration_milliseconds: call.duration_milliseconds,
    span_id: call.span_id,
  };
  if (call.parent_span_id !== undefined) stored.parent_span_id = call.parent_span_id;
  if (call.namespace !== '') stored.namespace = call.namespace;
  if (!call.was_successful) stored.was_successful = false;
  if (call.call_stack.length > 0) {
    const earlier = stacks.earlierWithSameStack(index);
    if (earlier === undefined) stored.call_stack = call.call_stack;
    else stored.same_stack_as = earlier;
  }
  if (call.datastore_details !== undefined) stored.datastore_details = call.datastore_details;
  if (call.call_cost_microdollars !== 0) stored.call_cost_microdollars = call.call_cost_microdollars;
  if (call.billed_ops.length > 0) stored.billed_ops = call.billed_ops;
  if (call.span_name !== call.service_call_name) stored.span_name = call.span_name;
  if (call.span_kind !== 'CLIENT') stored.span_kind = call.span_kind;
  if (call.status.code !== 'UNSET' || call.status.message !== undefined) stored.status = call.status;
  if (call.pending) stored.pending = true;
  if (Object.keys(call.attributes).length > 0) stored.attributes = call.attributes;
  return stored;
}

export function storedCalls(calls: readonly RpcCall[]): StoredCall[] {
  const stacks = new StackIndex(calls);
  return calls.map((call, i) => storedCall(call, i, stacks));
}

/** A stored call with its defaults put back; a field of the wrong type reads as its default too. */
export function expandedCall(
  value: Record<string, unknown>,
  index: number,
  calls: readonly RpcCall[],
): RpcCall {
  const stored = value as Partial<Record<keyof StoredCall, unknown>>;
  const same = stored.same_stack_as;
  // Only an earlier call can be named (it is expanded already): no cycles, no forward references.
  const shared =
    typeof same === 'number' && Number.isInteger(same) && same >= 0 && same < index
      ? calls[same].call_stack
      : undefined;
  const text = (field: unknown, fallback = '') => (typeof field === 'string' ? field : fallback);
  const number = (field: unknown) => (typeof field === 'number' && Number.isFinite(field) ? field : 0);
  const name = text(stored.service_call_name, '(unnamed)');
  const call: RpcCall = {
    service_call_name: name,
    request_data_summary: text(stored.request_data_summary),
    response_data_summary: text(stored.response_data_summary),
    start_offset_milliseconds: number(stored.start_offset_milliseconds),
    duration_milliseconds: number(stored.duration_milliseconds),
    namespace: text(stored.namespace),
    was_successful: stored.was_successful !== false,
    call_stack: shared ?? (Array.isArray(stored.call_stack) ? stored.call_stack : []),
    call_cost_microdollars: number(stored.call_cost_microdollars),
    billed_ops: Array.isArray(stored.billed_ops) ? stored.billed_ops : [],
    span_id: text(stored.span_id),
    span_name: text(stored.span_name, name),
    span_kind: (typeof stored.span_kind === 'string' ? stored.span_kind : 'CLIENT') as RpcCall['span_kind'],
    status: isObject(stored.status) ? (stored.status as RpcCall['status']) : { code: 'UNSET' },
    attributes: isObject(stored.attributes) ? (stored.attributes as RpcCall['attributes']) : {},
  };
  if (isObject(stored.datastore_details)) call.datastore_details = stored.datastore_details;
  if (typeof stored.parent_span_id === 'string') call.parent_span_id = stored.parent_span_id;
  if (stored.pending === true) call.pending = true;
  return call;
}
