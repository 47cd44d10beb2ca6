/**
 * The frame both the Histograms and the Distributions dashboards use: the tag list (`/tags`),
 * the tag filter and toolbar, the empty, loading, error and "no run selected" states, and cards
 * grouped by tag prefix. A card is one run × tag (TensorBoard), or one tag with all shown runs.
 */
import type { JSX } from 'preact';
import { useMemo } from 'preact/hooks';

import { pluginUrl, type ScalarTags } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { matches, parseFilter } from '../../core/regex';
import { useStore } from '../../core/store';
import { compareTags } from '../../core/tags';
import { useJson } from '../../core/useJson';
import { CardGroups, tagGroups, useCollapsed } from '../../components/CardGroup';
import { LoadNotice, NoRunsSelected, NoTagMatch, Notice, TagFilterTools, useDashboardData } from '../../components/DashboardStates';
import { EmptyState } from '../../components/EmptyState';

/** What one card shows. */
export interface CardSpec {
  key: string;
  tag: string;
  runs: string[];
  description: string;
}

/** Item keys of CardGroup: a tag, or a tag and a run. */
const SEPARATOR = '\u0000';

export interface FrameProps {
  api: DashboardApi;
  plugin: 'histograms' | 'distributions';
  /** "histograms" / "distributions", for messages. */
  what: string;
  /** One card per tag with every shown run, instead of one per run × tag. */
  perTag: boolean;
  toolbar: JSX.Element;
  renderCard(card: CardSpec): JSX.Element;
}

export function Frame({ api, plugin, what, perTag, toolbar, renderCard }: FrameProps): JSX.Element {
  const { loaded, shown, loading, dataLocation } = useDashboardData(api);
  const view = useStore(api.view, (v) => v);
  const pageSize = useStore(api.settings, (s) => s.pageSize);
  const cardWidth = useStore(api.settings, (s) => s.cardWidth);
  const tags = useJson<ScalarTags>(api, pluginUrl(plugin, 'tags'));
  const [collapsed, toggleGroup] = useCollapsed();

  // tag -> shown runs that log it (in the runs panel's order), and descriptions.
  const { runsByTag, descriptions, total } = useMemo(() => {
    const byTag = new Map<string, Set<string>>();
    const described = new Map<string, string>();
    for (const [run, infos] of Object.entries(tags.data ?? {})) {
      for (const [tag, info] of Object.entries(infos)) {
        let runs = byTag.get(tag);
        if (!runs) byTag.set(tag, (runs = new Set()));
        runs.add(run);
        if (info.description && !described.has(tag)) described.set(tag, info.description);
      }
    }
    const present = new Map<string, string[]>();
    for (const [tag, runs] of byTag) {
      const list = shown.filter((run) => runs.has(run));
      if (list.length) present.set(tag, list);
    }
    return { runsByTag: present, descriptions: described, total: byTag.size };
  }, [tags.data, shown]);

  const tagRegex = parseFilter(view.tagFilter).regex;
  const visibleTags = [...runsByTag.keys()].filter((tag) => matches(tagRegex, tag)).sort(compareTags);
  const itemsOf = (tag: string) =>
    perTag ? [tag] : (runsByTag.get(tag) ?? []).map((run) => `${tag}${SEPARATOR}${run}`);
  const cardOf = (item: string): JSX.Element => {
    const [tag = '', run] = item.split(SEPARATOR);
    const runs = run === undefined ? (runsByTag.get(tag) ?? []) : [run];
    return renderCard({ key: item, tag, runs, description: descriptions.get(tag) ?? '' });
  };

  let body: JSX.Element;
  if (tags.data === null || !loaded) {
    body = <LoadNotice error={tags.error} subject={`the ${what} tags`} loading="tags" errorTestid="load-error" />;
  } else if (total === 0) {
    body = (
      <EmptyState
        title={`No ${what} data yet`}
        what={what}
        example={'    writer.add_histogram("weights", w, step)    # tag, values, step'}
        dataLocation={dataLocation}
        loading={loading}
      />
    );
  } else if (shown.length === 0) {
    body = <NoRunsSelected api={api} />;
  } else if (visibleTags.length === 0) {
    body =
      runsByTag.size === 0 ? (
        <Notice testid="no-tags-match">None of the selected runs has {what}.</Notice>
      ) : (
        <NoTagMatch filter={view.tagFilter} />
      );
  } else {
    const groups = tagGroups(view.tagFilter, visibleTags).map((group) => ({
      name: group.name,
      tags: group.tags.flatMap(itemsOf),
    }));
    body = (
      <>
        {tags.error ? <Notice error>Could not reload the tags: {tags.error}</Notice> : null}
        <CardGroups
          groups={groups}
          keyPrefix={`${perTag ? 'tag' : 'run'}:`}
          pageSize={pageSize}
          collapsed={collapsed}
          onToggle={toggleGroup}
          render={cardOf}
        />
      </>
    );
  }

  return (
    <div class={`hist-dash hist-dash--${plugin}`} style={{ '--card-width': `${cardWidth}px` }}>
      <div class="toolbar">
        <TagFilterTools
          api={api}
          value={view.tagFilter}
          count={tags.data ? { shown: visibleTags.length, total: runsByTag.size } : null}
          suggestions={[...runsByTag.keys()]}
        />
        {toolbar}
      </div>
      <div class="hist-dash__cards">{body}</div>
    </div>
  );
}

/** A small segmented control (radio buttons) for the toolbars. */
export function Segmented<T extends string>({
  label,
  value,
  options,
  onChange,
  testid,
}: {
  label: string;
  value: T;
  options: readonly { value: T; label: string }[];
  onChange(value: T): void;
  testid: string;
}): JSX.Element {
  return (
    <div class="segmented" role="radiogroup" aria-label={label} data-testid={testid}>
      <span class="segmented__label">{label}</span>
      {options.map((option) => (
        <button
          type="button"
          role="radio"
          key={option.value}
          aria-checked={option.value === value}
          class={`segmented__option ${option.value === value ? 'segmented__option--on' : ''}`}
          data-value={option.value}
          onClick={() => onChange(option.value)}
        >
          {option.label}
        </button>
      ))}
    </div>
  );
}
