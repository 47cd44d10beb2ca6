/**
 * The Time Series view, as TensorBoard's: the scalars, images and histograms of the shown runs in
 * one list of tag groups (prefix before the first `/`), a type filter, the tag filter, and a
 * Pinned section at the top for cards of any type. The cards are the Scalars, Images and
 * Histograms dashboards' own; a card off screen draws (and fetches) nothing until it nears the
 * viewport.
 */
import type { JSX } from 'preact';
import { useMemo, useRef } from 'preact/hooks';

import { pluginUrl } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { parseFilter } from '../../core/regex';
import { useStore } from '../../core/store';
import { useJson } from '../../core/useJson';
import { useVisible } from '../../core/visible';
import { CardGroups, PinnedSection, useCollapsed } from '../../components/CardGroup';
import { LoadNotice, NoRunsSelected, NoTagMatch, TagFilterTools, useDashboardData } from '../../components/DashboardStates';
import { EmptyState } from '../../components/EmptyState';
import { PinIcon } from '../../components/icons';
import { HistogramCard } from '../histograms/Card';
import { ImageCard } from '../images/ImageCard';
import type { BlobTags } from '../images/media';
import { ScalarCard, type CardLook } from '../scalars/Card';
import { buildGroups, cardId, KINDS, runsOf, togglePin, type Kind, type SeriesCard, type TagsByRun } from './model';
import { seriesUrlStore } from './url';

const KIND_LABEL: Record<Kind, string> = { scalars: 'Scalars', images: 'Images', histograms: 'Histograms' };
const NO_GROUPING = new Map<string, string>();
const IMAGE_LOOK = { brightness: 1, contrast: 1, actualSize: false };
const noSteps = () => undefined;

/** Renders its card only once it has come near the screen (images fetch on mount). */
function Lazy({ children, testid }: { children: () => JSX.Element; testid: string }): JSX.Element {
  const ref = useRef<HTMLDivElement>(null);
  const seen = useRef(false);
  const visible = useVisible(ref);
  if (visible) seen.current = true;
  return seen.current ? children() : <div ref={ref} class="card ts-placeholder" data-testid={testid} />;
}

function PinButton({ pinned, onToggle }: { pinned: boolean; onToggle(): void }): JSX.Element {
  return (
    <button
      type="button"
      class={`icon-button ts-pin ${pinned ? 'icon-button--on' : ''}`}
      title={pinned ? 'Unpin' : 'Pin to the top'}
      aria-label={pinned ? 'Unpin' : 'Pin'}
      aria-pressed={pinned}
      data-testid="ts-pin"
      onClick={onToggle}
    >
      <PinIcon />
    </button>
  );
}

export function TimeSeriesDashboard({ api }: { api: DashboardApi }): JSX.Element {
  const generation = useStore(api.data, (d) => d.generation);
  const { loaded, shown, loading, dataLocation } = useDashboardData(api);
  const view = useStore(api.view, (v) => v);
  const settings = useStore(api.settings, (s) => s);
  const colorsVersion = useStore(api.colors.store, (c) => c.version);
  const dark = useStore(api.theme, (t) => t.dark);
  const urlStore = seriesUrlStore();
  const { pins, kinds } = useStore(urlStore, (s) => s);
  const [collapsed, toggleGroup] = useCollapsed();

  const scalars = useJson<TagsByRun>(api, pluginUrl('scalars', 'tags'));
  const images = useJson<BlobTags>(api, pluginUrl('images', 'tags'));
  const histograms = useJson<TagsByRun>(api, pluginUrl('histograms', 'tags'));
  const tags = { scalars: scalars.data, images: images.data, histograms: histograms.data };
  const tagRegex = parseFilter(view.tagFilter).regex;
  const groups = useMemo(
    () => buildGroups(tags, shown, tagRegex, kinds),
    [scalars.data, images.data, histograms.data, shown, view.tagFilter, kinds],
  );
  const allCards = useMemo(
    () => buildGroups(tags, shown, null, new Set(KINDS)).flatMap((g) => g.cards),
    [scalars.data, images.data, histograms.data, shown],
  );
  const byId = useMemo(() => new Map([...allCards].map((card) => [cardId(card), card])), [allCards]);

  const look: CardLook = useMemo(
    () => ({
      xAxis: view.xAxis,
      smoothing: view.smoothing,
      smoother: view.smoother,
      ignoreOutliers: view.ignoreOutliers,
      groupBy: { kind: 'none' },
      groupByKey: '',
      groupColors: NO_GROUPING,
      band: view.band,
      showMembers: view.showMembers,
      tooltipSort: settings.tooltipSort,
      colorsVersion,
      dark,
      generation,
    }),
    [view.xAxis, view.smoothing, view.smoother, view.ignoreOutliers, view.band, view.showMembers, settings.tooltipSort, colorsVersion, dark, generation],
  );

  const isPinned = (card: SeriesCard) =>
    card.kind === 'scalars' ? view.pinned.includes(card.tag) : pins.some((p) => cardId(p) === cardId(card));

  const render = (card: SeriesCard, section: 'pinned' | 'group'): JSX.Element => {
    const id = cardId(card);
    const key = `${section}:${id}`;
    if (card.kind === 'scalars') {
      // The Scalars card pins itself (`pinnedCards`, shared with the Scalars dashboard).
      return (
        <div key={key} class="ts-card" data-testid="ts-card" data-kind="scalars" data-tag={card.tag}>
          <ScalarCard
            api={api}
            tag={card.tag}
            description=""
            runs={runsOf(scalars.data, shown, card.tag)}
            look={look}
            pinned={view.pinned.includes(card.tag)}
            wide={false}
            logY={view.logY.includes(card.tag)}
            section={section}
          />
        </div>
      );
    }
    const run = card.run ?? '';
    const pin = <PinButton pinned={isPinned(card)} onToggle={() => urlStore.set((s) => ({ pins: togglePin(s.pins, card) }))} />;
    if (card.kind === 'images') {
      const info = images.data?.[run]?.[card.tag] ?? { displayName: card.tag, description: '', samples: 1 };
      return (
        <div key={key} class="ts-card" data-testid="ts-card" data-kind="images" data-tag={card.tag} data-run={run}>
          <Lazy testid="ts-placeholder">
            {() => <ImageCard api={api} run={run} tag={card.tag} info={info} global={null} onSteps={noSteps} look={IMAGE_LOOK} />}
          </Lazy>
          {pin}
        </div>
      );
    }
    return (
      <div key={key} class="ts-card" data-testid="ts-card" data-kind="histograms" data-tag={card.tag} data-run={run}>
        <HistogramCard
          api={api}
          tag={card.tag}
          runs={[run]}
          description=""
          mode="offset"
          xAxis="step"
          colorsVersion={colorsVersion}
          outline={false}
        />
        {pin}
      </div>
    );
  };

  const pending = scalars.data === null && images.data === null && histograms.data === null;
  const anyData = allCards.length > 0 || [scalars.data, images.data, histograms.data].some((d) => Object.values(d ?? {}).some((t) => Object.keys(t).length > 0));
  let body: JSX.Element;
  if (pending || !loaded) {
    body = <LoadNotice error={scalars.error ?? images.error ?? histograms.error} subject="the tags" loading="tags" />;
  } else if (!anyData) {
    body = <EmptyState title="No scalar, image or histogram data yet" dataLocation={dataLocation} loading={loading} />;
  } else if (shown.length === 0) {
    body = <NoRunsSelected api={api} />;
  } else {
    const pinnedCards = [
      ...view.pinned.map((tag) => byId.get(cardId({ kind: 'scalars', tag }))),
      ...pins.map((p) => byId.get(cardId(p))),
    ].filter((card): card is SeriesCard => card !== undefined);
    const items = new Map(groups.flatMap((g) => g.cards.map((card) => [cardId(card), card] as const)));
    body = (
      <>
        {pinnedCards.length ? (
          <PinnedSection count={pinnedCards.length}>
            {pinnedCards.map((card) => render(card, 'pinned'))}
          </PinnedSection>
        ) : null}
        {groups.length === 0 ? (
          <NoTagMatch filter={view.tagFilter} />
        ) : (
          <CardGroups
            groups={groups.map((g) => ({ name: g.name, tags: g.cards.map(cardId) }))}
            keyPrefix="ts:"
            pageSize={settings.pageSize}
            collapsed={collapsed}
            onToggle={toggleGroup}
            render={(id) => render(items.get(id)!, 'group')}
          />
        )}
      </>
    );
  }

  return (
    <div class="timeseries" style={{ '--card-width': `${settings.cardWidth}px` }}>
      <div class="toolbar">
        <TagFilterTools
          api={api}
          value={view.tagFilter}
          count={{ shown: new Set(groups.flatMap((g) => g.cards.map((c) => c.tag))).size, total: new Set(allCards.map((c) => c.tag)).size }}
          suggestions={[...new Set(allCards.map((c) => c.tag))]}
        />
        <div class="ts-types" role="group" aria-label="Card types" data-testid="ts-types">
          {KINDS.map((kind) => (
            <button
              key={kind}
              type="button"
              class={`button ${kinds.has(kind) ? 'button--on' : ''}`}
              aria-pressed={kinds.has(kind)}
              data-testid={`ts-type-${kind}`}
              onClick={() =>
                urlStore.set((s) => {
                  const next = new Set(s.kinds);
                  if (next.has(kind)) next.delete(kind);
                  else next.add(kind);
                  return { kinds: next };
                })
              }
            >
              {KIND_LABEL[kind]}
            </button>
          ))}
        </div>
      </div>
      <div class="timeseries__cards">{body}</div>
    </div>
  );
}
