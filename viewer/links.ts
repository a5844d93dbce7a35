/**
 * Absolute links of the viewer's pages under its base path (where it is mounted), so a page can be
 * bookmarked and a link works wherever it is followed from.
 */
export interface Links {
  base: string;
  dashboard(params?: URLSearchParams): string;
  details(startMs: number): string;
  detailsJson(startMs: number): string;
  file(file: string, line: number): string;
}

/** `/_ah/stats/` -> `/_ah/stats`; `/` -> ``. */
export function normalizeBasePath(base: string): string {
  const trimmed = base.trim().replace(/\/+$/, '');
  if (trimmed === '') return '';
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

export function createLinks(base: string): Links {
  return {
    base,
    dashboard(params) {
      const query = params?.toString();
      return `${base}/${query ? `?${query}` : ''}`;
    },
    // String(number) round-trips exactly, so the collision check compares the very same value.
    details: (startMs) => `${base}/details?time=${encodeURIComponent(String(startMs))}`,
    detailsJson: (startMs) => `${base}/details?time=${encodeURIComponent(String(startMs))}&type=json`,
    file: (file, line) =>
      `${base}/file?f=${encodeURIComponent(file)}&n=${line}${line > 0 ? `#L${line}` : ''}`,
  };
}
