/**
 * The PR Curves dashboard: a tag filter, the time display of the step sliders, and one card per
 * tag (grouped by tag prefix) with every shown run's curve.
 */
import type { JSX } from 'preact';
import { useMemo, useState } from 'preact/hooks';

import { pluginUrl, type ScalarTags } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { matches, parseFilter } from '../../core/regex';
import { useStore } from '../../core/store';
import { compareTags } from '../../core/tags';
import { useJson } from '../../core/useJson';
import { CardGroups, tagGroups, useCollapsed } from '../../components/CardGroup';
import { LoadNotice, NoRunsSelected, NoTagMatch, Notice, TagFilterTools, useDashboardData } from '../../components/DashboardStates';
import { EmptyState } from '../../components/EmptyState';
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
  const { loaded, shown, loading, dataLocation } = useDashboardData(api);
  const view = useStore(api.view, (v) => v);
  const settings = useStore(api.settings, (s) => s);
  const colorsVersion = useStore(api.colors.store, (c) => c.version);
  const [display, setDisplay] = useState<TimeDisplay>('step');
  const [collapsed, toggleGroup] = useCollapsed();

  const tags = useJson<ScalarTags>(api, pluginUrl('pr_curves', 'tags'));
  const index = useMemo(() => indexTags(tags.data ?? {}), [tags.data]);
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

  let body: JSX.Element;
  if (tags.data === null || !loaded) {
    body = <LoadNotice error={tags.error} subject="the PR-curve tags" loading="tags" />;
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
    body = <NoRunsSelected api={api} lead="No selected run has PR curves." />;
  } else if (visibleTags.length === 0) {
    body = <NoTagMatch filter={view.tagFilter} />;
  } else {
    body = (
      <>
        {tags.error ? <Notice error>{tags.error}</Notice> : null}
        <CardGroups
          groups={tagGroups(view.tagFilter, visibleTags)}
          pageSize={settings.pageSize}
          collapsed={collapsed}
          onToggle={toggleGroup}
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
      </>
    );
  }

  return (
    <div class="scalars pr-curves" style={{ '--card-width': `${settings.cardWidth}px` }}>
      <div class="scalars__main">
        <div class="toolbar">
          <TagFilterTools
            api={api}
            value={view.tagFilter}
            count={tags.data ? { shown: visibleTags.length, total: cardRuns.size } : null}
            suggestions={[...cardRuns.keys()]}
          />
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
