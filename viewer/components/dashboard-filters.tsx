import type { FC } from 'hono/jsx';
import { type DashboardQuery, isFiltered, queryParams, SORT_PARAMS } from '../dashboard-query.js';
import type { Links } from '../links.js';

const STATUS_OPTIONS = ['', '2xx', '3xx', '4xx', '5xx', 'none'];

/** The dashboard's filter form: a plain GET form, the table sorts kept as hidden fields. */
export const Filters: FC<{ query: DashboardQuery; links: Links; methods: string[] }> = function Filters({
  query,
  links,
  methods,
}) {
  const methodOptions = [...new Set(['', ...methods, ...(query.method ? [query.method] : [])])];
  return (
    <form class="filters" method="get" action={links.dashboard()}>
      <label>
        Path contains
        <input type="text" name="path" value={query.path} placeholder="/users" size={24} />
      </label>
      <label>
        Method
        <select name="method">
          {methodOptions.map((m) => (
            <option value={m} selected={m === query.method}>
              {m || 'any'}
            </option>
          ))}
        </select>
      </label>
      <label>
        Status
        <select name="status">
          {STATUS_OPTIONS.map((s) => (
            <option value={s} selected={s === query.status}>
              {s || 'any'}
            </option>
          ))}
        </select>
      </label>
      <label>
        Min duration (ms)
        <input
          type="number"
          name="min_ms"
          min="0"
          step="any"
          value={query.minMs > 0 ? String(query.minMs) : ''}
          size={6}
        />
      </label>
      {(['historySort', 'pathSort', 'rpcSort'] as const).map((field) => {
        const params = queryParams(query);
        const value = params.get(SORT_PARAMS[field]);
        return value ? <input type="hidden" name={SORT_PARAMS[field]} value={value} /> : null;
      })}
      <button type="submit">Filter</button>
      {isFiltered(query) ? <a href={links.dashboard()}>Clear filters</a> : null}
    </form>
  );
};
