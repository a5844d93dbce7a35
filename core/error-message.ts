/** An error's message, or whatever was thrown as text: for warnings and the viewer's error boxes. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
