import type { StackFrame } from '../../core/record.js';
import type { Links } from '../links.js';
import { h, type SafeHtml } from '../safe-html.js';
import { locateFrameFile, splitStack } from '../stack.js';

/** Rendered with hono's escaping `h` template: a 1000-call record has 10,000+ frames (see history-rows.ts). */
type Html = SafeHtml;

function frameItem(frame: StackFrame, links: Links, sourceRoot: string | undefined): Html {
  const { display, underRoot } = locateFrameFile(frame.class_or_file_name, sourceRoot);
  const position = `${display}:${frame.line_number}${frame.column_number ? `:${frame.column_number}` : ''}`;
  const place = underRoot
    ? h`<a href="${links.file(frame.class_or_file_name, frame.line_number)}">${position}</a>`
    : h`<span>${position}</span>`;
  return h`<li>${place} <span class="muted">${frame.function_name || '<anonymous>'}</span></li>`;
}

/** The app's frames first, open; library frames (node_modules, node:) folded below them. */
export function stackFrames(
  frames: readonly StackFrame[],
  links: Links,
  sourceRoot: string | undefined,
): Html {
  if (frames.length === 0) return h`<span class="muted">no stack captured</span>`;
  const { app, library } = splitStack(frames);
  const appPart =
    app.length > 0
      ? h`<ol class="frames app-frames">${app.map(({ frame }) => frameItem(frame, links, sourceRoot))}</ol>`
      : h`<p class="muted small">no frame of the app itself (all in libraries)</p>`;
  const libraryPart =
    library.length > 0
      ? h`<details class="library-frames"><summary class="muted small">${String(library.length)} library frame${
          library.length === 1 ? '' : 's'
        }</summary><ol class="frames">${library.map(({ frame }) => frameItem(frame, links, sourceRoot))}</ol></details>`
      : '';
  return h`${appPart}${libraryPart}`;
}
