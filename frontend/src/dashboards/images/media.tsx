/**
 * What the Images and Audio dashboards share: tags by run, one card per run × tag grouped by tag
 * prefix, the tag filter, the empty and no-run states, and a global step slider that moves every
 * card to the last step it recorded at or below the chosen one.
 */
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';

import { pluginUrl } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { matches, parseFilter } from '../../core/regex';
import { shownRuns } from '../../core/runs';
import { useStore } from '../../core/store';
import { compareTags, groupTags } from '../../core/tags';
import { useJson } from '../../core/useJson';
import { CardGroup } from '../../components/CardGroup';
import { EmptyState } from '../../components/EmptyState';
import { FilterInput } from '../../components/FilterInput';
import { StepSlider } from '../../components/StepSlider';
import { unionSteps } from './steps';
import './media.css';

export interface BlobTagInfo {
  displayName: string;
  description: string;
  /** The most images (clips) any step of the series holds. */
  samples: number;
}

export type BlobTags = Record<string, Record<string, BlobTagInfo>>;

/** The global slider's last move: `seq` changes on every move, so cards follow each one. */
export interface GlobalStep {
  step: number;
  seq: number;
}

export interface MediaCardProps {
  api: DashboardApi;
  run: string;
  tag: string;
  info: BlobTagInfo;
  global: GlobalStep | null;
  /** A card reports the steps it shows (null when it goes away), for the global slider. */
  onSteps(key: string, steps: number[] | null): void;
}

export function cardKey(run: string, tag: string): string {
  return `${run}\u0000${tag}`;
}

/** The colour of `run`, re-read when the user changes run colours. */
export function useRunColor(api: DashboardApi, run: string): string {
  useStore(api.colors.store, (c) => c.version);
  return api.colors.get(run);
}

export function MediaDashboard({
  api,
  plugin,
  noun,
  example,
  tools,
  renderCard,
}: {
  api: DashboardApi;
  plugin: 'images' | 'audio';
  /** "images", "audio clips": in the empty state and the counts. */
  noun: string;
  example: string;
  /** Dashboard-specific toolbar controls. */
  tools?: ComponentChildren;
  renderCard(props: MediaCardProps): JSX.Element;
}): JSX.Element {
  const loaded = useStore(api.data, (d) => d.loaded);
  const allRuns = useStore(api.data, (d) => d.runs);
  const loading = useStore(api.data, (d) => d.status?.loading ?? false);
  const dataLocation = useStore(api.data, (d) => d.environment?.data_location);
  const view = useStore(api.view, (v) => v);
  const pageSize = useStore(api.settings, (s) => s.pageSize);
  const cardWidth = useStore(api.settings, (s) => s.cardWidth);

  const tags = useJson<BlobTags>(api, pluginUrl(plugin, 'tags'));
  const shown = useMemo(
    () => shownRuns(allRuns, view.runFilter, view.selection),
    [allRuns, view.runFilter, view.selection],
  );
  // tag -> the shown runs that log it, in the runs panel's order.
  const cardRuns = useMemo(() => {
    const out = new Map<string, string[]>();
    const data = tags.data ?? {};
    for (const run of shown) {
      for (const tag of Object.keys(data[run] ?? {})) {
        let list = out.get(tag);
        if (!list) out.set(tag, (list = []));
        list.push(run);
      }
    }
    return out;
  }, [tags.data, shown]);
  const anyData = Object.values(tags.data ?? {}).some((byTag) => Object.keys(byTag).length > 0);
  const tagRegex = parseFilter(view.tagFilter).regex;
  const visibleTags = [...cardRuns.keys()].filter((tag) => matches(tagRegex, tag)).sort(compareTags);

  const [stepsByCard, setStepsByCard] = useState<Map<string, number[]>>(() => new Map());
  const onSteps = useCallback((key: string, steps: number[] | null) => {
    setStepsByCard((old) => {
      const previous = old.get(key);
      if (steps === null ? previous === undefined : previous?.join() === steps.join()) return old;
      const next = new Map(old);
      if (steps === null) next.delete(key);
      else next.set(key, steps);
      return next;
    });
  }, []);
  const globalSteps = useMemo(() => unionSteps(stepsByCard.values()), [stepsByCard]);
  const [global, setGlobal] = useState<GlobalStep | null>(null);
  const globalIndex = global === null ? globalSteps.length - 1 : globalSteps.indexOf(global.step);

  const onTagFilter = useCallback((text: string) => api.view.set({ tagFilter: text }), [api]);
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  // A run or filter change starts over from the newest steps.
  useEffect(() => setGlobal(null), [view.tagFilter]);

  let body: JSX.Element;
  if (tags.data === null || !loaded) {
    body = tags.error ? (
      <div class="notice notice--error" data-testid="load-error">
        Could not load the {noun}: {tags.error}
      </div>
    ) : (
      <div class="notice" data-testid="loading">
        Loading {noun}…
      </div>
    );
  } else if (!anyData) {
    body = (
      <EmptyState
        title={`No ${noun} yet`}
        what={noun}
        example={example}
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
  } else if (cardRuns.size === 0) {
    body = (
      <div class="notice" data-testid="no-runs-with-data">
        None of the selected runs has {noun}.
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
    const data = tags.data;
    body = (
      <>
        {tags.error ? <div class="notice notice--error">Could not refresh: {tags.error}</div> : null}
        {groups.map((group) => (
          <CardGroup
            key={group.name}
            name={group.name}
            tags={group.tags}
            pageSize={pageSize}
            collapsed={collapsed.has(group.name)}
            onToggle={() => {
              const next = new Set(collapsed);
              if (next.has(group.name)) next.delete(group.name);
              else next.add(group.name);
              setCollapsed(next);
            }}
            render={(tag) => (
              <>
                {(cardRuns.get(tag) ?? []).map((run) => {
                  const info = data[run]?.[tag];
                  if (!info) return null;
                  return (
                    <div key={cardKey(run, tag)} class="media__slot">
                      {renderCard({ api, run, tag, info, global, onSteps })}
                    </div>
                  );
                })}
              </>
            )}
          />
        ))}
      </>
    );
  }

  return (
    <div class={`media media--${plugin}`} style={{ '--card-width': `${cardWidth}px` }} data-testid={`${plugin}-dashboard`}>
      <div class="toolbar media__toolbar">
        <FilterInput
          value={view.tagFilter}
          onCommit={onTagFilter}
          placeholder="Filter tags (regex)"
          label="Filter tags (regex)"
          testid="tag-filter"
        />
        {globalSteps.length > 1 ? (
          <div class="media__global" title="Move every card to its last step at or below this one">
            <span class="media__global-label">All cards</span>
            <StepSlider
              steps={globalSteps}
              index={globalIndex < 0 ? globalSteps.length - 1 : globalIndex}
              onChange={(i) => {
                const step = globalSteps[i];
                if (step !== undefined) setGlobal((old) => ({ step, seq: (old?.seq ?? 0) + 1 }));
              }}
              testid="global-step"
            />
          </div>
        ) : null}
        {tools}
      </div>
      <div class="media__cards">{body}</div>
    </div>
  );
}
