/**
 * The PR Curves dashboard: a tag filter, the time display of the step sliders, and one card per
 * tag (grouped by tag prefix) with every shown run's curve.
 */
import type { JSX } from 'preact';
import { useCallback, useMemo, useState } from 'preact/hooks';

import { pluginUrl, type ScalarTags } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { matches, parseFilter } from '../../core/regex';
import { shownRuns } from '../../core/runs';
import { useStore } from '../../core/store';
import { compareTags, groupTags } from '../../core/tags';
import { useJson } from '../../core/useJson';
import { CardGroup } from '../../components/CardGroup';
import { EmptyState } from '../../components/EmptyState';
import { FilterInput } from '../../components/FilterInput';
import { PrCard } from './Card';
import type { TimeDisplay } from './model';

const EXAMPLE = `    labels = targets == 1                      # bool per example
    predictions = probabilities                # scores in [0, 1]
    writer.add_pr_curve("pr", labels, predictions, step)`;

interface TagIndex {
  runsByTag: Map<string, string[]>;
  displayNames: Map<string, string>;
  descriptions: Map<string, string>;
}

function indexTags(tags: ScalarTags): TagIndex {
  const runsByTag = new Map<string, string[]>();
  const displayNames = new Map<string, string>();
  const descriptions = new Map<string, string>();
  for (const [run, byTag] of Object.entries(tags)) {
    for (const [tag, info] of Object.entries(byTag)) {
      let list = runsByTag.get(tag);
      if (!list) runsByTag.set(tag, (list = []));
      list.push(run);
      if (info.displayName && !displayNames.has(tag)) displayNames.set(tag, info.displayName);
      if (info.description && !descriptions.has(tag)) descriptions.set(tag, info.description);
    }
  }
  return { runsByTag, displayNames, descriptions };
}

export function PrCurvesDashboard({ api }: { api: DashboardApi }): JSX.Element {
  const loaded = useStore(api.data, (d) => d.loaded);
  const allRuns = useStore(api.data, (d) => d.runs);
  const loading = useStore(api.data, (d) => d.status?.loading ?? false);
  const dataLocation = useStore(api.data, (d) => d.environment?.data_location);
  const view = useStore(api.view, (v) => v);
  const settings = useStore(api.settings, (s) => s);
  const colorsVersion = useStore(api.colors.store, (c) => c.version);
  const [display, setDisplay] = useState<TimeDisplay>('step');
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());

  const tags = useJson<ScalarTags>(api, pluginUrl('pr_curves', 'tags'));
  const index = useMemo(() => indexTags(tags.data ?? {}), [tags.data]);
  const shown = useMemo(
    () => shownRuns(allRuns, view.runFilter, view.selection),
    [allRuns, view.runFilter, view.selection],
  );
  const cardRuns = useMemo(() => {
    const out = new Map<string, string[]>();
    for (const [tag, runs] of index.runsByTag) {
      const present = shown.filter((run) => runs.includes(run));
      if (present.length) out.set(tag, present);
    }
    return out;
  }, [index, shown]);
  const tagRegex = parseFilter(view.tagFilter).regex;
  const visibleTags = [...cardRuns.keys()].filter((tag) => matches(tagRegex, tag)).sort(compareTags);
  const onTagFilter = useCallback((text: string) => api.view.set({ tagFilter: text }), [api]);

  let body: JSX.Element;
  if (tags.data === null || !loaded) {
    body = tags.error ? (
      <div class="notice notice--error">Could not load the PR-curve tags: {tags.error}</div>
    ) : (
      <div class="notice">Loading tags…</div>
    );
  } else if (index.runsByTag.size === 0) {
    body = (
      <EmptyState
        title="No PR curves yet"
        what="precision-recall curves"
        example={EXAMPLE}
        dataLocation={dataLocation}
        loading={loading}
      />
    );
  } else if (cardRuns.size === 0) {
    body = (
      <div class="notice" data-testid="no-runs-selected">
        No selected run has PR curves. Pick runs on the left, or{' '}
        <button
          type="button"
          class="link-button"
          onClick={() => api.view.set({ selection: { mode: 'all', runs: [] }, runFilter: '' })}
        >
          show all runs
        </button>
        .
      </div>
    );
  } else if (visibleTags.length === 0) {
    body = (
      <div class="notice" data-testid="no-tags-match">
        No tag matches <code>{view.tagFilter}</code>.
      </div>
    );
  } else {
    const groups = view.tagFilter
      ? [{ name: `Tags matching /${view.tagFilter}/`, tags: visibleTags }]
      : groupTags(visibleTags);
    body = (
      <>
        {tags.error ? <div class="notice notice--error">{tags.error}</div> : null}
        {groups.map((group) => (
          <CardGroup
            key={group.name}
            name={group.name}
            tags={group.tags}
            pageSize={settings.pageSize}
            collapsed={collapsed.has(group.name)}
            onToggle={() => {
              const next = new Set(collapsed);
              if (next.has(group.name)) next.delete(group.name);
              else next.add(group.name);
              setCollapsed(next);
            }}
            render={(tag) => (
              <PrCard
                key={tag}
                api={api}
                tag={tag}
                displayName={index.displayNames.get(tag) ?? ''}
                description={index.descriptions.get(tag) ?? ''}
                runs={cardRuns.get(tag) ?? []}
                display={display}
                colorsVersion={colorsVersion}
              />
            )}
          />
        ))}
      </>
    );
  }

  return (
    <div class="scalars pr-curves" style={{ '--card-width': `${settings.cardWidth}px` }}>
      <div class="scalars__main">
        <div class="toolbar">
          <FilterInput
            value={view.tagFilter}
            onCommit={onTagFilter}
            placeholder="Filter tags (regex)"
            label="Filter tags (regex)"
            testid="tag-filter"
          />
          <span class="toolbar__count" data-testid="tag-count">
            {tags.data ? `${visibleTags.length} of ${cardRuns.size} tags` : ''}
          </span>
          <label class="pr-display">
            Time display{' '}
            <select
              data-testid="pr-time-display"
              value={display}
              onChange={(e) => setDisplay(e.currentTarget.value as TimeDisplay)}
            >
              <option value="step">Step</option>
              <option value="relative">Relative</option>
              <option value="wall_time">Wall</option>
            </select>
          </label>
        </div>
        <div class="scalars__cards">{body}</div>
      </div>
    </div>
  );
}
