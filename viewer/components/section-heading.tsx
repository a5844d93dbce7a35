import type { Child, FC } from 'hono/jsx';

/**
 * A section's heading: its title, a short hint, and the "Expand all" button that the page script
 * reveals (hidden without JavaScript, where every row still opens on its own).
 */
export const ExpandableHeading: FC<{ section: string; title: string; hint: Child }> =
  function ExpandableHeading({ section, title, hint }) {
    return (
      <h2>
        {title} <span class="muted small">{hint}</span>
        <span class="tools">
          <button type="button" data-expand={section} hidden>
            Expand all
          </button>
        </span>
      </h2>
    );
  };
