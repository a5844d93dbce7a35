/*
 * The parts of the Datastore v1 request and response objects (as @google-cloud/datastore hands them
 * to and gets them from its gRPC client) that the call descriptions read. Every field is optional:
 * the inputs are untrusted shapes, and a field that is not what we expect is left out.
 */

export interface PathElementProto {
  kind?: string | null;
  id?: string | number | null;
  name?: string | null;
}
export interface KeyProto {
  path?: PathElementProto[] | null;
  partitionId?: { namespaceId?: string | null } | null;
}
export type ValueProto = Record<string, unknown>;
export interface FilterProto {
  propertyFilter?: {
    property?: { name?: string } | null;
    op?: string | number | null;
    value?: ValueProto | null;
  } | null;
  compositeFilter?: { op?: string | number | null; filters?: FilterProto[] | null } | null;
}
export interface QueryProto {
  kind?: { name?: string | null }[] | null;
  filter?: FilterProto | null;
  order?: { property?: { name?: string | null } | null; direction?: string | number | null }[] | null;
  projection?: { property?: { name?: string | null } | null }[] | null;
  distinctOn?: { name?: string | null }[] | null;
  limit?: { value?: number | null } | number | null;
  offset?: number | null;
  startCursor?: unknown;
}
interface MutationProto {
  insert?: { key?: KeyProto | null } | null;
  update?: { key?: KeyProto | null } | null;
  upsert?: { key?: KeyProto | null } | null;
  delete?: KeyProto | null;
}
export interface AggregationProto {
  alias?: string | null;
  count?: unknown;
  sum?: { property?: { name?: string | null } | null } | null;
  avg?: { property?: { name?: string | null } | null } | null;
}
/** What request_ is given: the gapic method and its request object. */
export interface RequestConfig {
  client?: string;
  method?: string;
  reqOpts?: {
    keys?: KeyProto[] | null;
    mutations?: MutationProto[] | null;
    query?: QueryProto | null;
    aggregationQuery?: { nestedQuery?: QueryProto | null; aggregations?: AggregationProto[] | null } | null;
    partitionId?: { namespaceId?: string | null } | null;
    readOptions?: { newTransaction?: unknown; transaction?: unknown } | null;
    transactionOptions?: { readOnly?: unknown; readWrite?: unknown } | null;
  } | null;
}
/** The parts of the v1 responses we read. */
export interface ResponseProto {
  found?: { entity?: { key?: KeyProto | null } | null }[] | null;
  missing?: { entity?: { key?: KeyProto | null } | null }[] | null;
  deferred?: KeyProto[] | null;
  batch?: {
    entityResults?: unknown[] | null;
    entityResultType?: string | number | null;
    moreResults?: string | number | null;
    skippedResults?: number | null;
    aggregationResults?: { aggregateProperties?: Record<string, ValueProto> | null }[] | null;
  } | null;
  mutationResults?: { key?: KeyProto | null }[] | null;
  indexUpdates?: number | null;
  keys?: KeyProto[] | null;
}

export function isObject<T>(value: T): value is NonNullable<T> & object {
  return typeof value === 'object' && value !== null;
}

export function list<T>(value: T[] | null | undefined): T[] {
  return Array.isArray(value) ? value : [];
}
