import type { FC } from 'hono/jsx';
import { type DashboardQuery, queryParams, type Sort } from '../dashboard-query.js';
import type { Links } from '../links.js';

type SortField = 'historySort' | 'pathSort' | 'rpcSort';

export interface SortHeaderProps {
  label: string;
  sortKey: string;
  field: SortField;
  query: DashboardQuery;
  links: Links;
  numeric?: boolean;
  title?: string;
  /** Where the link lands: the table's own section. */
  anchor: string;
}

/**
 * A column heading that sorts its table by a link (no script): clicking the sorted column flips
 * its direction; another column starts descending for numbers, ascending for text.
 */
export const SortHeader: FC<SortHeaderProps> = function SortHeader(props) {
  const current = props.query[props.field] as Sort<string>;
  const active = current.key === props.sortKey;
  const next: Sort<string> = active
    ? { key: props.sortKey, descending: !current.descending }
    : { key: props.sortKey, descending: props.numeric === true };
  const href = `${props.links.dashboard(queryParams({ ...props.query, [props.field]: next }))}#${props.anchor}`;
  const classes = [
    props.numeric ? 'num' : '',
    active ? 'sorted' : '',
    active && !current.descending ? 'asc' : '',
  ]
    .filter(Boolean)
    .join(' ');
  return (
    <th
      class={classes || undefined}
      title={props.title}
      aria-sort={active ? (current.descending ? 'descending' : 'ascending') : undefined}
    >
      <a href={href}>{props.label}</a>
    </th>
  );
};
