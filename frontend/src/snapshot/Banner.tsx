/**
 * What a snapshot page adds to the app: the line under the header (what it is of, when it was
 * taken, what it holds) and the notice of the tabs whose dashboards it does not carry.
 */
import type { JSX } from 'preact';

import { snapshotMeta } from './data';
import './snapshot.css';

/** `2026-05-01 14:03` in the reader's time zone. */
export function formatTaken(seconds: number): string {
  const date = new Date(seconds * 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ${two(date.getHours())}:${two(date.getMinutes())}`;
}

export function SnapshotBanner(): JSX.Element | null {
  const meta = snapshotMeta();
  if (!meta) return null;
  const { logdir, created, version, runs, tags } = meta;
  return (
    <div class="snapshot-banner" role="note" data-testid="snapshot-banner">
      <span>
        Snapshot of <code data-testid="snapshot-logdir">{logdir}</code> taken{' '}
        <time dateTime={new Date(created * 1000).toISOString()} data-testid="snapshot-taken">
          {formatTaken(created)}
        </time>
      </span>
      {runs !== null ? (
        <span class="snapshot-banner__filter">
          runs <code>{runs}</code>
        </span>
      ) : null}
      {tags !== null ? (
        <span class="snapshot-banner__filter">
          tags <code>{tags}</code>
        </span>
      ) : null}
      <span class="snapshot-banner__note">read-only · lumiboard {version}</span>
    </div>
  );
}

/** The notice of a tab whose dashboard the snapshot does not carry. */
export function NotInSnapshot({ name }: { name: string }): JSX.Element {
  return (
    <div class="empty" data-testid="dashboard-unavailable">
      <h2>The {name} dashboard is not in this snapshot</h2>
      <p class="empty__lead">
        A snapshot holds Scalars, Health, Images, Audio, Histograms, Distributions, Text and HParams. Serve the
        log directory with <code>lumiboard --logdir</code> to see the rest.
      </p>
    </div>
  );
}
