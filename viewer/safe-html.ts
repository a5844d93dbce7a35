import { raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

/**
 * A small escaping template for the viewer's large tables (1000 history rows, 1000 call traces and
 * timeline rows). hono/jsx and hono's `html` helper escape the same way but allocate per node or
 * per interpolation; at 1000+ rows that was most of a page's time (see docs/performance.md).
 *
 * The rule is the same as JSX's: every interpolated value is escaped (strings, numbers, anything
 * else via String()), arrays are escaped item by item, and only a `SafeHtml` (the result of `h`
 * itself) passes through as markup. There is no other way to make a `SafeHtml` from outside this file.
 */
let makeSafeHtml: (value: string) => SafeHtml;

export class SafeHtml {
  readonly #value: string;
  private constructor(value: string) {
    this.#value = value;
  }
  static {
    // The only factory, kept in this module: `h` is the one way to make markup.
    makeSafeHtml = (value) => new SafeHtml(value);
  }
  toString(): string {
    return this.#value;
  }
}

const SPECIAL = /[&<>"']/;
const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text -> HTML text, safe in element content and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return SPECIAL.test(text) ? text.replace(/[&<>"']/g, (c) => ESCAPES[c]) : text;
}

function render(value: unknown): string {
  if (typeof value === 'string') return escapeHtml(value);
  if (value instanceof SafeHtml) return value.toString();
  if (typeof value === 'number') return String(value);
  if (value === null || value === undefined || value === false || value === true) return '';
  if (Array.isArray(value)) {
    let out = '';
    for (const item of value) out += render(item);
    return out;
  }
  return escapeHtml(String(value));
}

/** Tagged template: `h\`<td>${text}</td>\`` escapes `text`; nested `h` results are kept as markup. */
export function h(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return makeSafeHtml(out);
}

/**
 * Hands `h`'s output to hono/jsx as markup. The one `raw()` of the viewer, and it only ever wraps
 * a `SafeHtml`, whose every interpolation was escaped above: record data never reaches it unescaped.
 */
export function toJsx(safe: SafeHtml): HtmlEscapedString {
  return raw(safe.toString());
}
