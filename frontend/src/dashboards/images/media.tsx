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
import { useStore } from '../../core/store';
import { compareTags } from '../../core/tags';
import { useJson } from '../../core/useJson';
import { CardGroups, tagGroups, useCollapsed } from '../../components/CardGroup';
import { LoadNotice, NoRunsSelected, NoTagMatch, Notice, TagFilterTools, useDashboardData } from '../../components/DashboardStates';
import { CardDescription } from '../../components/CardParts';
import { EmptyState } from '../../components/EmptyState';
import { StepSlider } from '../../components/StepSlider';
import { unionSteps, type StepEntry } from './steps';
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
  const { loaded, shown, loading, dataLocation } = useDashboardData(api);
  const view = useStore(api.view, (v) => v);
  const pageSize = useStore(api.settings, (s) => s.pageSize);
  const cardWidth = useStore(api.settings, (s) => s.cardWidth);

  const tags = useJson<BlobTags>(api, pluginUrl(plugin, 'tags'));
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

  const [collapsed, toggleGroup] = useCollapsed();
  // A run or filter change starts over from the newest steps.
  useEffect(() => setGlobal(null), [view.tagFilter]);

  let body: JSX.Element;
  if (tags.data === null || !loaded) {
    body = (
      <LoadNotice error={tags.error} subject={`the ${noun}`} loading={noun} errorTestid="load-error" loadingTestid="loading" />
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
    body = <NoRunsSelected api={api} />;
  } else if (cardRuns.size === 0) {
    body = <Notice testid="no-runs-with-data">None of the selected runs has {noun}.</Notice>;
  } else if (visibleTags.length === 0) {
    body = <NoTagMatch filter={view.tagFilter} />;
  } else {
    const data = tags.data;
    body = (
      <>
        {tags.error ? <Notice error>Could not refresh: {tags.error}</Notice> : null}
        <CardGroups
          groups={tagGroups(view.tagFilter, visibleTags)}
          pageSize={pageSize}
          collapsed={collapsed}
          onToggle={toggleGroup}
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
      </>
    );
  }

  return (
    <div class={`media media--${plugin}`} style={{ '--card-width': `${cardWidth}px` }} data-testid={`${plugin}-dashboard`}>
      <div class="toolbar media__toolbar">
        <TagFilterTools api={api} value={view.tagFilter} />
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

/** A media card's head: the tag (or its display name), the run with its colour, the description. */
export function MediaCardHead({
  run,
  tag,
  info,
  color,
}: {
  run: string;
  tag: string;
  info: BlobTagInfo;
  color: string;
}): JSX.Element {
  return (
    <div class="card__head">
      <div class="card__titles">
        <div class="card__title" title={tag} data-testid="card-title">
          {info.displayName && info.displayName !== tag ? info.displayName : tag}
        </div>
        <div class="media-card__run" title={run}>
          <span class="media-card__swatch" style={{ background: color }} data-testid="run-swatch" />
          <span class="media-card__run-name">{run}</span>
        </div>
        <CardDescription description={info.description} />
      </div>
    </div>
  );
}

/** What a media card shows: its colour, the sample, the listing of its steps and the step shown. */
export interface MediaCardState<T extends StepEntry> {
  color: string;
  sample: number;
  setSample(sample: number): void;
  listing: { data: T[] | null; error: string | null; pending: boolean };
  /** The listing by step. */
  sorted: T[];
  index: number;
  setIndex(index: number): void;
  /** The entry of the step shown. */
  entry: T | undefined;
}

/** A media card's step slider and, for a series with several samples, the sample's index. */
export function MediaCardControls({
  card,
  samples,
  sampleLabel,
}: {
  card: MediaCardState<StepEntry>;
  samples: number;
  /** "sample", "clip". */
  sampleLabel: string;
}): JSX.Element {
  const { sorted, index, setIndex, sample, setSample } = card;
  return (
    <div class="media-card__controls">
      <StepSlider
        steps={sorted.map((e) => e.step)}
        wallTimes={sorted.map((e) => e.wall_time)}
        index={index}
        onChange={setIndex}
      />
      {samples > 1 ? (
        <label class="media-card__sample">
          {sampleLabel}
          <input
            type="number"
            min={0}
            max={samples - 1}
            value={sample}
            data-testid="sample-index"
            onInput={(e) => setSample(Number(e.currentTarget.value))}
          />
          <span>of {samples}</span>
        </label>
      ) : null}
    </div>
  );
}
