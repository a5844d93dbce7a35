/**
 * Paths to the rows the dashboard groups them by, when the framework set no `http.route` (plain
 * http, Fastify without its OTel plugin): `/score/ann/10` and `/score/bob/7` are one page.
 */

const ID_SEGMENT =
  /^(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,}|(?=[a-z]*\d)[0-9a-z]{24,})$/i;

/** Numeric, UUID and long hex (or long random-looking) segments become `:id`. */
export function idSegmentsToParams(path: string): string {
  if (!path.startsWith('/')) return path; // a job's span name, not a path
  return path
    .split('/')
    .map((segment) => (ID_SEGMENT.test(segment) ? ':id' : segment))
    .join('/');
}

interface Template {
  text: string;
  segments: (string | null)[]; // null: a parameter, matching any one segment
}

function parseTemplate(text: string): Template | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('/')) return undefined;
  return {
    text: trimmed,
    segments: trimmed
      .split('/')
      .map((segment) => (segment.startsWith(':') || segment === '*' ? null : segment)),
  };
}

/**
 * A normaliser: the first route template (`/score/:name/:points`) a path matches segment by segment,
 * else `idSegmentsToParams`. Templates that do not start with `/` are refused (returned in `invalid`).
 */
export function pathNormalizer(templates: readonly string[] = []): {
  normalize: (path: string) => string;
  invalid: string[];
} {
  const parsed: Template[] = [];
  const invalid: string[] = [];
  for (const text of templates) {
    const template = parseTemplate(text);
    if (template) parsed.push(template);
    else invalid.push(text);
  }
  function normalize(path: string): string {
    if (parsed.length > 0) {
      const segments = path.split('/');
      for (const template of parsed) {
        if (template.segments.length !== segments.length) continue;
        if (template.segments.every((want, i) => want === null || want === segments[i])) return template.text;
      }
    }
    return idSegmentsToParams(path);
  }
  return { normalize, invalid };
}
