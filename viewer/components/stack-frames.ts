import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { StackFrame } from '../../exporter/record.js';
import type { Links } from '../links.js';
import { locateFrameFile, splitStack } from '../stack.js';

/** Rendered with hono's escaping `html` template: a 1000-call record has 10,000+ frames (see history-rows.ts). */
type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

function frameItem(frame: StackFrame, links: Links, sourceRoot: string | undefined): Html {
  const { display, underRoot } = locateFrameFile(frame.class_or_file_name, sourceRoot);
  const position = `${display}:${frame.line_number}${frame.column_number ? `:${frame.column_number}` : ''}`;
  const place = underRoot
    ? html`<a href="${links.file(frame.class_or_file_name, frame.line_number)}">${position}</a>`
    : html`<span>${position}</span>`;
  return html`<li>${place} <span class="muted">${frame.function_name || '<anonymous>'}</span></li>`;
}

/** The app's frames first, open; library frames (node_modules, node:) folded below them. */
export function stackFrames(
  frames: readonly StackFrame[],
  links: Links,
  sourceRoot: string | undefined,
): Html {
  if (frames.length === 0) return html`<span class="muted">no stack captured</span>`;
  const { app, library } = splitStack(frames);
  const appPart =
    app.length > 0
      ? html`<ol class="frames app-frames">${app.map(({ frame }) => frameItem(frame, links, sourceRoot))}</ol>`
      : html`<p class="muted small">no frame of the app itself (all in libraries)</p>`;
  const libraryPart =
    library.length > 0
      ? html`<details class="library-frames"><summary class="muted small">${String(library.length)} library frame${
          library.length === 1 ? '' : 's'
        }</summary><ol class="frames">${library.map(({ frame }) => frameItem(frame, links, sourceRoot))}</ol></details>`
      : '';
  return html`${appPart}${libraryPart}`;
}
