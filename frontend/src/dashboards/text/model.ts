/**
 * The Text dashboard's pure logic: which run×tag cards exist, and which entries a card lists for
 * the step the slider picked (newest first).
 */
import { compareTags, tagGroup } from '../../core/tags';

/** One value of the `text` route: its rendered (sanitized) HTML. */
export interface TextEntry {
  wall_time: number;
  step: number;
  text: string;
}

/** `{run: [tag, ...]}`, the `tags` route. */
export type TextTags = Record<string, string[]>;

export interface CardKey {
  run: string;
  tag: string;
}

/** A card's key as one string (run and tag cannot hold NUL). */
export function cardKey(run: string, tag: string): string {
  return `${tag}\u0000${run}`;
}

export function parseCardKey(key: string): CardKey {
  const cut = key.indexOf('\u0000');
  return { tag: key.slice(0, cut), run: key.slice(cut + 1) };
}

export interface CardGroupSpec {
  name: string;
  keys: string[];
}

/**
 * The cards of the shown runs: tags in tag order, each tag's runs in the runs panel's order,
 * grouped by the tag's prefix (or one group when a filter is set, as the other dashboards do).
 */
export function textCards(
  tags: TextTags,
  shownRuns: readonly string[],
  tagMatches: (tag: string) => boolean,
  filterName: string | null,
): { groups: CardGroupSpec[]; total: number; tagCount: number } {
  const runsByTag = new Map<string, string[]>();
  for (const run of shownRuns) {
    for (const tag of tags[run] ?? []) {
      let list = runsByTag.get(tag);
      if (!list) runsByTag.set(tag, (list = []));
      list.push(run);
    }
  }
  const sorted = [...runsByTag.keys()].filter(tagMatches).sort(compareTags);
  const groups = new Map<string, string[]>();
  let total = 0;
  for (const tag of sorted) {
    const name = filterName ?? tagGroup(tag);
    let keys = groups.get(name);
    if (!keys) groups.set(name, (keys = []));
    for (const run of runsByTag.get(tag)!) {
      keys.push(cardKey(run, tag));
      total++;
    }
  }
  return { groups: [...groups].map(([name, keys]) => ({ name, keys })), total, tagCount: sorted.length };
}

/** Whether any run of the log directory has text. */
export function hasText(tags: TextTags | null): boolean {
  return tags !== null && Object.values(tags).some((list) => list.length > 0);
}

/** The distinct steps of a series, ascending (the slider's stops). */
export function stepsOf(entries: readonly TextEntry[]): number[] {
  const steps = [...new Set(entries.map((entry) => entry.step))];
  return steps.sort((a, b) => a - b);
}

/**
 * What a card lists: the entries up to `step` (every entry when `step` is null), or only those at
 * `step` when `only`; newest first (by step, then by wall time), as a log is read.
 */
export function visibleEntries(entries: readonly TextEntry[], step: number | null, only: boolean): TextEntry[] {
  const kept =
    step === null ? [...entries] : entries.filter((entry) => (only ? entry.step === step : entry.step <= step));
  return kept.sort((a, b) => b.step - a.step || b.wall_time - a.wall_time);
}

/**
 * The slider's index for a chosen step: the latest step when the user has not moved it (null),
 * so a card follows new steps as they arrive; else the chosen step or the nearest below it.
 */
export function sliderIndex(steps: readonly number[], chosen: number | null): number {
  if (steps.length === 0) return 0;
  if (chosen === null) return steps.length - 1;
  let index = 0;
  for (let i = 0; i < steps.length; i++) if (steps[i]! <= chosen) index = i;
  return index;
}

const MARKDOWN_KEY = 'lumiboard.text.markdown';

interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** "Enable Markdown", kept per browser (TensorBoard keeps it per dashboard); on by default. */
export function loadMarkdown(storage: StorageLike | null): boolean {
  try {
    return storage?.getItem(MARKDOWN_KEY) !== 'false';
  } catch {
    return true;
  }
}

export function saveMarkdown(storage: StorageLike | null, on: boolean): void {
  try {
    storage?.setItem(MARKDOWN_KEY, on ? 'true' : 'false');
  } catch {
    // storage full or disabled: the choice still applies for this session
  }
}
