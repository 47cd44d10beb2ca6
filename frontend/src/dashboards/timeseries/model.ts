/**
 * The Time Series view's model: the tags of Scalars, Images and Histograms merged into one list
 * of groups (the part before the first `/`, as TensorBoard's Time Series groups them), the type
 * filter, and the pins of any card type (kept in the URL as `tsPinned`, TensorBoard's
 * `pinnedCards` shape; scalar pins stay in `pinnedCards`, shared with the Scalars dashboard).
 */
import type { PluginInfo, PluginsListing } from '../../core/api';
import { matches } from '../../core/regex';
import { compareTags, tagGroup } from '../../core/tags';

export const TIMESERIES_TAB = 'timeseries';
export const KINDS = ['scalars', 'images', 'histograms'] as const;
export type Kind = (typeof KINDS)[number];

/** One card: a scalar tag (runs overlaid), or an image or histogram tag of one run (as TB's Time Series). */
export interface SeriesCard {
  kind: Kind;
  tag: string;
  /** Images and histograms: the run the card shows. */
  run?: string;
}

export interface SeriesGroup {
  name: string;
  cards: SeriesCard[];
}

/** Tags by run, as each plugin's `tags` route answers. */
export type TagsByRun = Record<string, Record<string, unknown>>;

/** `listing` with the Time Series tab: enabled when Scalars, Images or Histograms has data. */
export function withTimeSeriesTab(listing: PluginsListing): PluginsListing {
  const enabled = KINDS.some((kind) => listing[kind]?.enabled === true);
  const entry: PluginInfo = {
    enabled,
    tab_name: 'Time Series',
    disable_reload: false,
    remove_dom: false,
    loading_mechanism: { type: 'NONE' },
  };
  return { ...listing, [TIMESERIES_TAB]: entry };
}

/** The key of a card, unique across kinds (and runs for images). */
export function cardId(card: SeriesCard): string {
  return card.run === undefined ? `${card.kind}\u0000${card.tag}` : `${card.kind}\u0000${card.tag}\u0000${card.run}`;
}

const KIND_RANK: Record<Kind, number> = { scalars: 0, images: 1, histograms: 2 };

/**
 * The cards of the shown runs, filtered by tag regex and kind, grouped by prefix. Within a group:
 * tags in TensorBoard's order; for one tag, scalars before images before histograms; image cards
 * and histogram cards per run in the runs panel's order.
 */
export function buildGroups(
  tags: Partial<Record<Kind, TagsByRun | null>>,
  shown: readonly string[],
  tagRegex: RegExp | null,
  kinds: ReadonlySet<Kind>,
): SeriesGroup[] {
  const cards: SeriesCard[] = [];
  for (const kind of KINDS) {
    if (!kinds.has(kind)) continue;
    const byRun = tags[kind] ?? {};
    const runsByTag = new Map<string, string[]>();
    for (const run of shown) {
      for (const tag of Object.keys(byRun[run] ?? {})) {
        let list = runsByTag.get(tag);
        if (!list) runsByTag.set(tag, (list = []));
        list.push(run);
      }
    }
    for (const [tag, runs] of runsByTag) {
      if (!matches(tagRegex, tag)) continue;
      if (kind !== 'scalars') for (const run of runs) cards.push({ kind, tag, run });
      else cards.push({ kind, tag });
    }
  }
  cards.sort(
    (a, b) =>
      compareTags(a.tag, b.tag) ||
      KIND_RANK[a.kind] - KIND_RANK[b.kind] ||
      shown.indexOf(a.run ?? '') - shown.indexOf(b.run ?? ''),
  );
  const groups = new Map<string, SeriesCard[]>();
  for (const card of cards) {
    const name = tagGroup(card.tag);
    let list = groups.get(name);
    if (!list) groups.set(name, (list = []));
    list.push(card);
  }
  return [...groups].map(([name, list]) => ({ name, cards: list }));
}

/** The runs of the shown set that log `tag` for `kind`, in the shown order. */
export function runsOf(tags: TagsByRun | null | undefined, shown: readonly string[], tag: string): string[] {
  return shown.filter((run) => tags?.[run]?.[tag] !== undefined);
}

/** Pins of image and histogram cards, from `tsPinned`: `[{"plugin": ..., "tag": ..., "run": ...}]`. */
export function parsePins(text: string | null): SeriesCard[] {
  if (!text) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const out: SeriesCard[] = [];
  const seen = new Set<string>();
  for (const item of parsed as unknown[]) {
    if (!item || typeof item !== 'object') continue;
    const { plugin, tag, run } = item as Record<string, unknown>;
    if ((plugin !== 'images' && plugin !== 'histograms') || typeof tag !== 'string') continue;
    if (typeof run !== 'string') continue;
    const card: SeriesCard = { kind: plugin, tag, run };
    if (seen.has(cardId(card))) continue;
    seen.add(cardId(card));
    out.push(card);
  }
  return out;
}

export function encodePins(pins: readonly SeriesCard[]): string {
  return JSON.stringify(pins.map((p) => (p.run === undefined ? { plugin: p.kind, tag: p.tag } : { plugin: p.kind, tag: p.tag, run: p.run })));
}

/** `pins` with `card` added at the end, or removed. */
export function togglePin(pins: readonly SeriesCard[], card: SeriesCard): SeriesCard[] {
  const id = cardId(card);
  const without = pins.filter((p) => cardId(p) !== id);
  return without.length === pins.length ? [...pins, card] : without;
}

/** The kinds shown, from `tsTypes` (comma-separated; absent: all). */
export function parseKinds(text: string | null): Set<Kind> {
  if (text === null) return new Set(KINDS);
  return new Set(KINDS.filter((kind) => text.split(',').includes(kind)));
}

export function encodeKinds(kinds: ReadonlySet<Kind>): string | null {
  return KINDS.every((kind) => kinds.has(kind)) ? null : KINDS.filter((kind) => kinds.has(kind)).join(',');
}
