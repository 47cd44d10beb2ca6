/**
 * The states every dashboard shows around its cards: loading and load errors, "no run is
 * selected", "no tag matches", and the tag filter with its count in the toolbar.
 */
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useMemo } from 'preact/hooks';

import type { DashboardApi } from '../core/dashboard';
import { shownRuns } from '../core/runs';
import { useStore } from '../core/store';
import { FilterInput } from './FilterInput';

/** What every dashboard reads of the data and the view: load state, the runs, the shown runs. */
export function useDashboardData(api: DashboardApi): {
  loaded: boolean;
  allRuns: string[];
  /** The shown runs (the run filter and selection applied), in the runs panel's order. */
  shown: string[];
  /** The log directory is still being read. */
  loading: boolean;
  dataLocation: string | undefined;
} {
  const loaded = useStore(api.data, (d) => d.loaded);
  const allRuns = useStore(api.data, (d) => d.runs);
  const loading = useStore(api.data, (d) => d.status?.loading ?? false);
  const dataLocation = useStore(api.data, (d) => d.environment?.data_location);
  const runFilter = useStore(api.view, (v) => v.runFilter);
  const selection = useStore(api.view, (v) => v.selection);
  const shown = useMemo(() => shownRuns(allRuns, runFilter, selection), [allRuns, runFilter, selection]);
  return { loaded, allRuns, shown, loading, dataLocation };
}

/** A notice line in a dashboard's body (`error`: the red one). */
export function Notice({
  testid,
  error = false,
  children,
}: {
  testid?: string;
  error?: boolean;
  children: ComponentChildren;
}): JSX.Element {
  return (
    <div class={error ? 'notice notice--error' : 'notice'} data-testid={testid}>
      {children}
    </div>
  );
}

/**
 * While the dashboard's first request runs: "Loading …", or its error once it failed.
 * `subject` completes "Could not load …" ("the scalar tags"), `loading` completes "Loading …".
 */
export function LoadNotice({
  error,
  subject,
  loading,
  errorTestid,
  loadingTestid,
}: {
  error: string | null | undefined;
  subject: string;
  loading: string;
  errorTestid?: string;
  loadingTestid?: string;
}): JSX.Element {
  return error ? (
    <Notice error testid={errorTestid}>
      Could not load {subject}: {error}
    </Notice>
  ) : (
    <Notice testid={loadingTestid}>Loading {loading}…</Notice>
  );
}

/** Nothing to show because no run is shown: a link that shows all runs again. */
export function NoRunsSelected({
  api,
  lead = 'No run is selected.',
}: {
  api: DashboardApi;
  /** The first sentence ("No run is selected."). */
  lead?: string;
}): JSX.Element {
  return (
    <Notice testid="no-runs-selected">
      {lead} Pick runs on the left, or{' '}
      <button
        type="button"
        class="link-button"
        onClick={() => api.view.set({ selection: { mode: 'all', runs: [] }, runFilter: '' })}
      >
        show all runs
      </button>
      .
    </Notice>
  );
}

/** The tag filter hides every card. */
export function NoTagMatch({ filter, noun = 'tag' }: { filter: string; noun?: string }): JSX.Element {
  return (
    <Notice testid="no-tags-match">
      No {noun} matches <code>{filter}</code>.
    </Notice>
  );
}

/**
 * The toolbar's tag filter (the view's `tagFilter`) and, when `count` is given, "N of M tags"
 * (empty while `count` is null: the tags are not loaded yet).
 */
export function TagFilterTools({
  api,
  value,
  noun = 'tags',
  count,
  suggestions,
}: {
  api: DashboardApi;
  value: string;
  /** What the filter filters, plural ("tags", "meshes"). */
  noun?: string;
  count?: { shown: number; total: number } | null;
  /** The names to autocomplete from (the dashboard's tags). */
  suggestions?: readonly string[];
}): JSX.Element {
  const onCommit = useCallback((text: string) => api.view.set({ tagFilter: text }), [api]);
  const label = `Filter ${noun} (regex)`;
  return (
    <>
      <FilterInput
        value={value}
        onCommit={onCommit}
        placeholder={label}
        label={label}
        testid="tag-filter"
        suggestions={suggestions}
      />
      {count === undefined ? null : (
        <span class="toolbar__count" data-testid="tag-count">
          {count ? `${count.shown} of ${count.total} ${noun}` : ''}
        </span>
      )}
    </>
  );
}
