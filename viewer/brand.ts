/** The viewer's name in every header, and the default title: a page with no title of its own says it once. */
export const BRAND = 'Appstats';
