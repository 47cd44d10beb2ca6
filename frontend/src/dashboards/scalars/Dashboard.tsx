/**
 * The Scalars dashboard: a tag filter, a Pinned section, cards grouped by tag prefix (each group
 * collapsible and paginated), and the Settings pane.
 */
import type { JSX } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useState } from 'preact/hooks';

import { ApiError, type ScalarTags } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { matches, parseFilter } from '../../core/regex';
import { encodeGroupBy, type GroupBy } from '../../core/state';
import { useStore } from '../../core/store';
import { compareTags } from '../../core/tags';
import { assignColors } from '../../core/colors';
import { groupKey } from '../../charts/aggregate';
import { EmptyState } from '../../components/EmptyState';
import { CardGroups, PinnedSection, tagGroups, useCollapsed } from '../../components/CardGroup';
import { LoadNotice, NoRunsSelected, NoTagMatch, TagFilterTools, useDashboardData } from '../../components/DashboardStates';
import { SettingsIcon } from '../../components/icons';
import { ScalarCard, type CardLook } from './Card';
import type { CompiledGroupBy } from './model';
import { linkedSelection } from './selection';
import { SettingsPane, type GroupPreview } from './SettingsPane';

function compileGroupBy(groupBy: GroupBy): CompiledGroupBy {
  switch (groupBy.kind) {
    case 'none':
      return groupBy;
    case 'part':
      return groupBy;
    case 'regex': {
      const regex = groupBy.pattern ? parseFilter(groupBy.pattern).regex : null;
      return regex ? { kind: 'regex', regex } : { kind: 'none' };
    }
  }
}

interface TagIndex {
  /** Tag -> the runs that log it. */
  runsByTag: Map<string, string[]>;
  descriptions: Map<string, string>;
}

function indexTags(tags: ScalarTags): TagIndex {
  const runsByTag = new Map<string, string[]>();
  const descriptions = new Map<string, string>();
  for (const [run, byTag] of Object.entries(tags)) {
    for (const [tag, info] of Object.entries(byTag)) {
      let list = runsByTag.get(tag);
      if (!list) runsByTag.set(tag, (list = []));
      list.push(run);
      if (info.description && !descriptions.has(tag)) descriptions.set(tag, info.description);
    }
  }
  return { runsByTag, descriptions };
}

/** The group colours when runs are not grouped: one map, so cards see no change. */
const NO_GROUP_COLORS: Map<string, string> = new Map();

export function ScalarsDashboard({ api }: { api: DashboardApi }): JSX.Element {
  const generation = useStore(api.data, (d) => d.generation);
  const { loaded, allRuns, shown, loading, dataLocation } = useDashboardData(api);
  const view = useStore(api.view, (v) => v);
  const settings = useStore(api.settings, (s) => s);
  const colorsVersion = useStore(api.colors.store, (c) => c.version);
  const dark = useStore(api.theme, (t) => t.dark);

  const [tags, setTags] = useState<ScalarTags | null>(null);
  const [error, setError] = useState<string | null>(null);
  // A layout effect: the request starts right after the first render, not after a paint.
  useLayoutEffect(() => {
    const controller = new AbortController();
    api.client
      .scalarTags(controller.signal)
      .then((next) => {
        setTags(next);
        setError(null);
      })
      .catch((e: unknown) => {
        if (controller.signal.aborted) return;
        setError(e instanceof ApiError || e instanceof Error ? e.message : String(e));
      });
    return () => controller.abort();
  }, [api, generation]);

  const index = useMemo(() => indexTags(tags ?? {}), [tags]);
  const shownSet = useMemo(() => new Set(shown), [shown]);
  const tagRegex = parseFilter(view.tagFilter).regex;

  // Cards show the tags that some shown run logs (TensorBoard hides empty cards).
  const cardRuns = useMemo(() => {
    const out = new Map<string, string[]>();
    for (const [tag, runs] of index.runsByTag) {
      // In the runs panel's order (first event time, then name), as TensorBoard lists them.
      const present = shown.filter((run) => runs.includes(run));
      if (present.length) out.set(tag, present);
    }
    return out;
  }, [index, shown]);
  const allTags = useMemo(() => [...cardRuns.keys()].sort(compareTags), [cardRuns]);
  const visibleTags = [...cardRuns.keys()].filter((tag) => matches(tagRegex, tag)).sort(compareTags);

  const groupByKey = encodeGroupBy(view.groupBy);
  const compiled = useMemo(() => compileGroupBy(view.groupBy), [groupByKey]);
  const preview: GroupPreview | null = useMemo(() => {
    if (compiled.kind === 'none' && view.groupBy.kind === 'none') return null;
    const sizes = new Map<string, number>();
    let ungrouped = 0;
    for (const run of shown) {
      const key = groupKey(run, compiled);
      if (key === null) ungrouped++;
      else sizes.set(key, (sizes.get(key) ?? 0) + 1);
    }
    return { groups: [...sizes].map(([key, size]) => ({ key, size })), ungrouped };
  }, [compiled, shown, view.groupBy.kind]);

  // Over all runs, not the shown ones: a group keeps its colour while runs are toggled. Keyed
  // by the runs' names, not the list's identity: a reload's new list of the same runs must
  // not make every card draw anew.
  const allRunsKey = allRuns.join('\u0000');
  const groupColors = useMemo(() => {
    if (compiled.kind === 'none') return NO_GROUP_COLORS;
    const keys = new Set<string>();
    for (const run of allRuns) {
      const key = groupKey(run, compiled);
      if (key !== null) keys.add(key);
    }
    return assignColors([...keys]);
  }, [compiled, allRunsKey]);
  const look: CardLook = useMemo(
    () => ({
      xAxis: view.xAxis,
      smoothing: view.smoothing,
      smoother: view.smoother,
      ignoreOutliers: view.ignoreOutliers,
      groupBy: compiled,
      groupByKey,
      groupColors,
      band: view.band,
      showMembers: view.showMembers,
      tooltipSort: settings.tooltipSort,
      colorsVersion,
      dark,
      generation,
    }),
    [view.xAxis, view.smoothing, view.smoother, view.ignoreOutliers, compiled, groupByKey, groupColors, view.band, view.showMembers,
      settings.tooltipSort, colorsVersion, dark, generation],
  );

  const [collapsed, toggleGroup] = useCollapsed();
  // A linked step selection is in the units of one x axis.
  useEffect(() => linkedSelection.set({ selection: null }), [view.xAxis]);

  const card = (tag: string, section: 'pinned' | 'group') => (
    <ScalarCard
      key={`${section}:${tag}`}
      api={api}
      tag={tag}
      description={index.descriptions.get(tag) ?? ''}
      runs={cardRuns.get(tag) ?? []}
      look={look}
      pinned={view.pinned.includes(tag)}
      wide={view.wide.includes(tag)}
      logY={view.logY.includes(tag)}
      section={section}
    />
  );

  let body: JSX.Element;
  if (tags === null || !loaded) {
    body = <LoadNotice error={error} subject="the scalar tags" loading="tags" />;
  } else if (index.runsByTag.size === 0) {
    body = <EmptyState title="No scalar data yet" dataLocation={dataLocation} loading={loading} />;
  } else if (shown.length === 0 || shownSet.size === 0) {
    body = <NoRunsSelected api={api} />;
  } else {
    const pinned = view.pinned.filter((tag) => cardRuns.has(tag));
    body = (
      <>
        {pinned.length ? (
          <PinnedSection count={pinned.length}>{pinned.map((tag) => card(tag, 'pinned'))}</PinnedSection>
        ) : null}
        {visibleTags.length === 0 ? (
          <NoTagMatch filter={view.tagFilter} />
        ) : (
          <CardGroups
            groups={tagGroups(view.tagFilter, visibleTags)}
            pageSize={settings.pageSize}
            collapsed={collapsed}
            onToggle={toggleGroup}
            render={(tag) => card(tag, 'group')}
          />
        )}
      </>
    );
  }

  return (
    <div class="scalars" style={{ '--card-width': `${settings.cardWidth}px` }}>
      <div class="scalars__main">
        <div class="toolbar">
          <TagFilterTools
            api={api}
            value={view.tagFilter}
            count={tags ? { shown: visibleTags.length, total: cardRuns.size } : null}
            suggestions={allTags}
          />
          <button
            type="button"
            class={`button ${settings.settingsOpen ? 'button--on' : ''}`}
            data-testid="settings-toggle"
            aria-pressed={settings.settingsOpen}
            onClick={() => api.settings.set({ settingsOpen: !settings.settingsOpen })}
          >
            <SettingsIcon /> Settings
          </button>
        </div>
        <div class="scalars__cards">{body}</div>
      </div>
      {settings.settingsOpen && index.runsByTag.size > 0 ? (
        <SettingsPane api={api} preview={preview} groupColors={groupColors} />
      ) : null}
    </div>
  );
}
