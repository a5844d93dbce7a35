import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { errorMessage } from '../core/error-message.js';
import { httpFieldsOf } from '../core/span-fields.js';
import type { ProcessorSettings } from './processor-settings.js';

/**
 * Whether `path` is one of `ignorePaths`: a string matches itself and what lies under it, a RegExp
 * anywhere in the path (`search`, not `test`: a /g or /y RegExp keeps a lastIndex that would make
 * the check at the root's start and the one at its end disagree).
 */
export function isIgnoredPath(path: string, ignorePaths: ProcessorSettings['ignorePaths']): boolean {
  return ignorePaths.some((ignored) =>
    typeof ignored === 'string'
      ? path === ignored || path.startsWith(ignored.endsWith('/') ? ignored : `${ignored}/`)
      : path.search(ignored) !== -1,
  );
}

/**
 * Whether a new root is to be recorded, by the user's choices alone (the sampled fraction, ignored
 * paths, `shouldRecord`); the caps are the processor's. A throwing `shouldRecord` means no.
 */
export function isRootWanted(
  root: ReadableSpan,
  settings: ProcessorSettings,
  warning: { warn(message: string): void },
): boolean {
  if (settings.recordFraction < 1 && Math.random() >= settings.recordFraction) return false;
  if (isIgnoredPath(httpFieldsOf(root).path, settings.ignorePaths)) return false;
  if (!settings.shouldRecord) return true;
  try {
    return settings.shouldRecord(root) !== false;
  } catch (error) {
    warning.warn(`shouldRecord threw: ${errorMessage(error)}`);
    return false;
  }
}
