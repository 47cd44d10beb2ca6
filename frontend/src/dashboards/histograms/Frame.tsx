/**
 * The frame both the Histograms and the Distributions dashboards use: the tag list (`/tags`),
 * the tag filter and toolbar, the empty, loading, error and "no run selected" states, and cards
 * grouped by tag prefix. A card is one run × tag (TensorBoard), or one tag with all shown runs.
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
  const loaded = useStore(api.data, (d) => d.loaded);
  const allRuns = useStore(api.data, (d) => d.runs);
  const loading = useStore(api.data, (d) => d.status?.loading ?? false);
  const dataLocation = useStore(api.data, (d) => d.environment?.data_location);
  const view = useStore(api.view, (v) => v);
  const pageSize = useStore(api.settings, (s) => s.pageSize);
  const cardWidth = useStore(api.settings, (s) => s.cardWidth);
  const tags = useJson<ScalarTags>(api, pluginUrl(plugin, 'tags'));
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const onTagFilter = useCallback((text: string) => api.view.set({ tagFilter: text }), [api]);

  const shown = useMemo(
    () => shownRuns(allRuns, view.runFilter, view.selection),
    [allRuns, view.runFilter, view.selection],
  );
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
    body = tags.error ? (
      <div class="notice notice--error" data-testid="load-error">Could not load the {what} tags: {tags.error}</div>
    ) : (
      <div class="notice">Loading tags…</div>
    );
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
    body = (
      <div class="notice" data-testid="no-runs-selected">
        No run is selected. Pick runs on the left, or{' '}
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
        {runsByTag.size === 0 ? (
          <>None of the selected runs has {what}.</>
        ) : (
          <>
            No tag matches <code>{view.tagFilter}</code>.
          </>
        )}
      </div>
    );
  } else {
    const groups =
      view.tagFilter !== ''
        ? [{ name: `Tags matching /${view.tagFilter}/`, tags: visibleTags }]
        : groupTags(visibleTags);
    body = (
      <>
        {tags.error ? <div class="notice notice--error">Could not reload the tags: {tags.error}</div> : null}
        {groups.map((group) => (
          <CardGroup
            key={`${perTag ? 'tag' : 'run'}:${group.name}`}
            name={group.name}
            tags={group.tags.flatMap(itemsOf)}
            pageSize={pageSize}
            collapsed={collapsed.has(group.name)}
            onToggle={() => {
              const next = new Set(collapsed);
              if (next.has(group.name)) next.delete(group.name);
              else next.add(group.name);
              setCollapsed(next);
            }}
            render={cardOf}
          />
        ))}
      </>
    );
  }

  return (
    <div class={`hist-dash hist-dash--${plugin}`} style={{ '--card-width': `${cardWidth}px` }}>
      <div class="toolbar">
        <FilterInput
          value={view.tagFilter}
          onCommit={onTagFilter}
          placeholder="Filter tags (regex)"
          label="Filter tags (regex)"
          testid="tag-filter"
        />
        <span class="toolbar__count" data-testid="tag-count">
          {tags.data ? `${visibleTags.length} of ${runsByTag.size} tags` : ''}
        </span>
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
