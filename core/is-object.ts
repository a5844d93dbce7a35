/** A JSON object (not null, not an array): what a stored record's objects must be before a field is read. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
