/** The health badges: one on a run in the runs panel, one in a chart card's header. */
import type { JSX } from 'preact';

import { badgeText, summaryTitle, type FlagSummary } from './model';
import './health.css';

/**
 * A run's badge: its number of flags, coloured by the worst level; the hover text lists them,
 * a click opens the Health view filtered to the run.
 */
export function RunHealthBadge({
  run,
  summary,
  onOpen,
}: {
  run: string;
  summary: FlagSummary;
  onOpen(run: string): void;
}): JSX.Element {
  return (
    <button
      type="button"
      class={`health-badge health-badge--${summary.worst}`}
      data-testid="run-health-badge"
      data-run={run}
      data-level={summary.worst}
      data-count={summary.count}
      title={`${summaryTitle(summary)}\nClick to list them in the Health view`}
      aria-label={`${summary.count} health flag${summary.count === 1 ? '' : 's'} (worst: ${summary.worst}) on run ${run}`}
      onClick={(e) => {
        e.stopPropagation();
        onOpen(run);
      }}
    >
      <span class="health-badge__mark" aria-hidden="true" />
      {summary.count}
    </button>
  );
}

/** A chart card's badge: its flags (of the shown runs, on its tag), opening the Health view. */
export function CardHealthBadge({ summary, onOpen }: { summary: FlagSummary; onOpen(): void }): JSX.Element {
  return (
    <button
      type="button"
      class={`health-badge health-badge--card health-badge--${summary.worst}`}
      data-testid="card-health-badge"
      data-level={summary.worst}
      data-count={summary.count}
      title={`${summaryTitle(summary, true)}\nClick to list them in the Health view`}
      onClick={onOpen}
    >
      <span class="health-badge__mark" aria-hidden="true" />
      {badgeText(summary)}
    </button>
  );
}
