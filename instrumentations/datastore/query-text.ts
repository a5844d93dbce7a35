/* Keys, filter values, filters and queries in the short text the summaries and details show. */

import {
  type AggregationProto,
  type FilterProto,
  isObject,
  type KeyProto,
  list,
  type QueryProto,
  type ValueProto,
} from './protos.js';

/** `User:42`, `Org:"acme"/User:7`; an incomplete key ends in `?`. */
export function formatKey(key: KeyProto | null | undefined): string {
  const path = list(key?.path);
  if (path.length === 0) return '?';
  return path
    .map((element) => {
      const kind = element?.kind ?? '?';
      if (typeof element?.name === 'string' && element.name !== '')
        return `${kind}:${JSON.stringify(element.name)}`;
      if (element?.id !== undefined && element.id !== null && element.id !== '' && element.id !== 0)
        return `${kind}:${element.id}`;
      return `${kind}:?`;
    })
    .join('/');
}

export function namespaceOfKey(key: KeyProto | null | undefined): string | undefined {
  const namespace = key?.partitionId?.namespaceId;
  return typeof namespace === 'string' && namespace !== '' ? namespace : undefined;
}

/** A filter value in short form: numbers bare, strings quoted, keys as `Key(User:42)`. */
export function formatValue(value: ValueProto | null | undefined): string {
  if (!isObject(value)) return '?';
  if ('integerValue' in value) return String(value.integerValue);
  if ('doubleValue' in value) return String(value.doubleValue);
  if ('booleanValue' in value) return String(value.booleanValue);
  if ('stringValue' in value) return JSON.stringify(value.stringValue);
  if ('nullValue' in value) return 'NULL';
  if ('keyValue' in value) return `Key(${formatKey(value.keyValue as KeyProto)})`;
  if ('timestampValue' in value && isObject(value.timestampValue)) {
    const seconds = Number((value.timestampValue as { seconds?: unknown }).seconds);
    return Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : 'timestamp';
  }
  if ('arrayValue' in value && isObject(value.arrayValue)) {
    const values = list((value.arrayValue as { values?: ValueProto[] }).values);
    return `[${values.map(formatValue).join(', ')}]`;
  }
  return '…';
}

const OPERATORS: Record<string, string> = {
  EQUAL: '=',
  NOT_EQUAL: '!=',
  LESS_THAN: '<',
  LESS_THAN_OR_EQUAL: '<=',
  GREATER_THAN: '>',
  GREATER_THAN_OR_EQUAL: '>=',
  IN: ' IN ',
  NOT_IN: ' NOT IN ',
  HAS_ANCESTOR: ' HAS ANCESTOR ',
};

/** The ancestor key of a query, from its `__key__ HAS_ANCESTOR` filter. */
export function ancestorOf(filter: FilterProto | null | undefined): string | undefined {
  if (!filter || typeof filter !== 'object') return undefined;
  const property = filter.propertyFilter;
  if (property?.op === 'HAS_ANCESTOR' && isObject(property.value) && 'keyValue' in property.value)
    return formatKey(property.value.keyValue as KeyProto);
  for (const child of list(filter.compositeFilter?.filters)) {
    const ancestor = ancestorOf(child);
    if (ancestor) return ancestor;
  }
  return undefined;
}

/** `age>=30 AND name="ann"`, without the ancestor filter (shown apart); '' when none. */
export function formatFilter(filter: FilterProto | null | undefined, nested = false): string {
  if (!filter || typeof filter !== 'object') return '';
  const property = filter.propertyFilter;
  if (property) {
    if (property.op === 'HAS_ANCESTOR') return '';
    const op = OPERATORS[String(property.op)] ?? ` ${property.op} `;
    return `${property.property?.name ?? '?'}${op}${formatValue(property.value)}`;
  }
  const composite = filter.compositeFilter;
  if (composite) {
    const parts = list(composite.filters)
      .map((child) => formatFilter(child, true))
      .filter((part) => part !== '');
    const text = parts.join(` ${composite.op ?? 'AND'} `);
    return nested && parts.length > 1 ? `(${text})` : text;
  }
  return '';
}

function limitOf(query: QueryProto): number | undefined {
  const limit = isObject(query.limit) ? query.limit.value : query.limit;
  return typeof limit === 'number' && limit >= 0 ? limit : undefined;
}

function namesOf(
  items: { property?: { name?: string | null } | null; name?: string | null }[] | null | undefined,
) {
  return list(items)
    .map((item) => item?.property?.name ?? item?.name)
    .filter((name): name is string => typeof name === 'string');
}

/** The query's parts as the details and the summary show them. */
export function describeQuery(query: QueryProto | null | undefined): {
  kind?: string;
  ancestor?: string;
  filters?: string;
  order?: string;
  limit?: number;
  offset?: number;
  projection?: string[];
  distinctOn?: string[];
  continued?: boolean;
  summary: string;
} {
  if (!isObject(query)) return { summary: '' };
  const kinds = list(query.kind)
    .map((kind) => kind?.name)
    .filter((name): name is string => typeof name === 'string');
  const kind = kinds.length > 0 ? kinds.join(',') : undefined;
  const ancestor = ancestorOf(query.filter);
  const filters = formatFilter(query.filter) || undefined;
  const order =
    list(query.order)
      .map((o) => `${o?.property?.name ?? '?'}${o?.direction === 'DESCENDING' ? ' DESC' : ''}`)
      .join(', ') || undefined;
  const limit = limitOf(query);
  const offset = typeof query.offset === 'number' && query.offset > 0 ? query.offset : undefined;
  const projection = namesOf(query.projection);
  const distinctOn = namesOf(query.distinctOn);
  const continued = query.startCursor !== undefined && query.startCursor !== null ? true : undefined;
  const where = [ancestor ? `__key__ HAS ANCESTOR Key(${ancestor})` : '', filters ?? ''].filter(Boolean);
  const summary = [
    kind ?? '(kindless)',
    projection.length > 0 ? `SELECT ${projection.join(', ')}` : '',
    distinctOn.length > 0 ? `DISTINCT ON ${distinctOn.join(', ')}` : '',
    where.length > 0 ? `WHERE ${where.join(' AND ')}` : '',
    order ? `ORDER BY ${order}` : '',
    limit !== undefined ? `LIMIT ${limit}` : '',
    offset !== undefined ? `OFFSET ${offset}` : '',
    continued ? '(next page)' : '',
  ]
    .filter(Boolean)
    .join(' ');
  return {
    ...(kind !== undefined ? { kind } : {}),
    ...(ancestor !== undefined ? { ancestor } : {}),
    ...(filters !== undefined ? { filters } : {}),
    ...(order !== undefined ? { order } : {}),
    ...(limit !== undefined ? { limit } : {}),
    ...(offset !== undefined ? { offset } : {}),
    ...(projection.length > 0 ? { projection } : {}),
    ...(distinctOn.length > 0 ? { distinctOn } : {}),
    ...(continued ? { continued } : {}),
    summary,
  };
}

export function aggregationText(aggregation: AggregationProto): string {
  const alias = aggregation?.alias ? ` AS ${aggregation.alias}` : '';
  if (aggregation?.count !== undefined && aggregation.count !== null) return `COUNT(*)${alias}`;
  if (aggregation?.sum) return `SUM(${aggregation.sum.property?.name ?? '?'})${alias}`;
  if (aggregation?.avg) return `AVG(${aggregation.avg.property?.name ?? '?'})${alias}`;
  return `?${alias}`;
}
