import type { FC } from 'hono/jsx';
import { formatCost, formatMs } from '../format.js';

/**
 * The row of an RPC opened to its paths, or of a path opened to its RPCs: the same columns (cost
 * left out, as everywhere on the dashboard, when no part has a cost).
 */
export const BreakdownTable: FC<{
  label: string;
  asCode?: boolean;
  showCost: boolean;
  rows: { name: string; count: number; total_ms: number; cost: number }[];
}> = function BreakdownTable({ label, asCode, showCost, rows }) {
  return (
    <table class="sub">
      <thead>
        <tr>
          <th>{label}</th>
          <th class="num">Count</th>
          <th class="num">Total ms</th>
          {showCost ? <th class="num">Cost µ$</th> : null}
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr>
            <td>{asCode ? <code>{r.name}</code> : r.name}</td>
            <td class="num">{r.count}</td>
            <td class="num">{formatMs(r.total_ms)}</td>
            {showCost ? <td class="num">{formatCost(r.cost)}</td> : null}
          </tr>
        ))}
      </tbody>
    </table>
  );
};
