import type { FC } from 'hono/jsx';
import type { StackFrame } from '../../exporter/record.js';
import type { Links } from '../links.js';
import { locateFrameFile, splitStack } from '../stack.js';

export interface StackFramesProps {
  frames: readonly StackFrame[];
  links: Links;
  sourceRoot: string | undefined;
}

const Frame: FC<{ frame: StackFrame; links: Links; sourceRoot: string | undefined }> = function Frame({
  frame,
  links,
  sourceRoot,
}) {
  const { display, underRoot } = locateFrameFile(frame.class_or_file_name, sourceRoot);
  const position = `${display}:${frame.line_number}${frame.column_number ? `:${frame.column_number}` : ''}`;
  return (
    <li>
      {underRoot ? (
        <a href={links.file(frame.class_or_file_name, frame.line_number)}>{position}</a>
      ) : (
        <span>{position}</span>
      )}{' '}
      <span class="muted">{frame.function_name || '<anonymous>'}</span>
    </li>
  );
};

/** The app's frames first, open; library frames (node_modules, node:) folded below them. */
export const StackFrames: FC<StackFramesProps> = function StackFrames({ frames, links, sourceRoot }) {
  if (frames.length === 0) return <span class="muted">no stack captured</span>;
  const { app, library } = splitStack(frames);
  return (
    <>
      {app.length > 0 ? (
        <ol class="frames app-frames">
          {app.map(({ frame }) => (
            <Frame frame={frame} links={links} sourceRoot={sourceRoot} />
          ))}
        </ol>
      ) : (
        <p class="muted small">no frame of the app itself (all in libraries)</p>
      )}
      {library.length > 0 ? (
        <details class="library-frames">
          <summary class="muted small">
            {library.length} library frame{library.length === 1 ? '' : 's'}
          </summary>
          <ol class="frames">
            {library.map(({ frame }) => (
              <Frame frame={frame} links={links} sourceRoot={sourceRoot} />
            ))}
          </ol>
        </details>
      ) : null}
    </>
  );
};
