/**
 * Just enough HTML reading for page assertions without a DOM: the text a reader sees, and the
 * slice of markup belonging to one element found by a marker attribute.
 */
const ENTITIES: Record<string, string> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&#39;': "'",
  '&#x27;': "'",
};

/** Tags dropped, entities decoded, whitespace collapsed. */
export function textOf(html: string): string {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&(amp|lt|gt|quot|#39|#x27);/g, (entity) => ENTITIES[entity])
    .replace(/\s+/g, ' ')
    .replace(/ ([,.;:)])/g, '$1')
    .replace(/\( /g, '(')
    .trim();
}

/** The markup from `<tag ...marker...` to its matching close tag (nesting of the same tag counted). */
export function elementWith(html: string, tag: string, marker: string): string {
  const at = html.indexOf(marker);
  if (at === -1) throw new Error(`no ${marker} in the page`);
  const start = html.lastIndexOf(`<${tag}`, at);
  const pattern = new RegExp(`<${tag}[\\s>]|</${tag}>`, 'g');
  pattern.lastIndex = start;
  let depth = 0;
  for (let match = pattern.exec(html); match; match = pattern.exec(html)) {
    depth += match[0].startsWith('</') ? -1 : 1;
    if (depth === 0) return html.slice(start, match.index + match[0].length);
  }
  throw new Error(`unclosed <${tag}> at ${marker}`);
}

/** Every element `<tag ...marker...>` in order. */
export function elementsWith(html: string, tag: string, markerPrefix: string): string[] {
  const found: string[] = [];
  let from = 0;
  for (let at = html.indexOf(markerPrefix, from); at !== -1; at = html.indexOf(markerPrefix, from)) {
    const element = elementWith(html.slice(html.lastIndexOf(`<${tag}`, at)), tag, markerPrefix);
    found.push(element);
    from = at + markerPrefix.length;
  }
  return found;
}

/** The row's own cells after its first cell's <details> (the expandable breakdown), as text. */
export function cellsAfterDetails(row: string): string {
  return textOf(row.slice(row.indexOf('</details>') + '</details>'.length));
}
