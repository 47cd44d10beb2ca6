import { describe, expect, it } from 'vitest';

import {
  cardKey,
  hasText,
  loadMarkdown,
  parseCardKey,
  saveMarkdown,
  sliderIndex,
  stepsOf,
  textCards,
  visibleEntries,
  type TextEntry,
} from '../src/dashboards/text/model';

const entry = (step: number, wall_time = step): TextEntry => ({ step, wall_time, text: `<p>${step}</p>` });

describe('text cards', () => {
  const tags = { b: ['notes', 'cfg/a'], a: ['notes'], hidden: ['notes'] };

  it('lists run×tag cards of the shown runs, grouped by tag prefix, runs in panel order', () => {
    const { groups, total, tagCount } = textCards(tags, ['a', 'b'], () => true, null);
    expect(groups.map((g) => g.name)).toEqual(['cfg', 'notes']);
    expect(groups[1]!.keys.map(parseCardKey)).toEqual([
      { run: 'a', tag: 'notes' },
      { run: 'b', tag: 'notes' },
    ]);
    expect(total).toBe(3);
    expect(tagCount).toBe(2);
  });

  it('puts every matching tag in one group when filtered', () => {
    const { groups } = textCards(tags, ['a', 'b'], (tag) => tag.startsWith('n'), 'matching');
    expect(groups).toEqual([{ name: 'matching', keys: [cardKey('a', 'notes'), cardKey('b', 'notes')] }]);
  });

  it('round-trips keys with odd names', () => {
    expect(parseCardKey(cardKey('run/ü x', 'tag/with/slashes'))).toEqual({ run: 'run/ü x', tag: 'tag/with/slashes' });
  });

  it('knows when there is no text', () => {
    expect(hasText(null)).toBe(false);
    expect(hasText({ a: [] })).toBe(false);
    expect(hasText({ a: ['t'] })).toBe(true);
  });
});

describe('entries for the step slider', () => {
  const entries = [entry(0), entry(5), entry(10), entry(5, 50)];

  it('lists newest first, every entry by default', () => {
    expect(visibleEntries(entries, null, false).map((e) => [e.step, e.wall_time])).toEqual([
      [10, 10],
      [5, 50],
      [5, 5],
      [0, 0],
    ]);
  });

  it('starts at the chosen step, or shows only it', () => {
    expect(visibleEntries(entries, 5, false).map((e) => e.step)).toEqual([5, 5, 0]);
    expect(visibleEntries(entries, 5, true).map((e) => e.step)).toEqual([5, 5]);
  });

  it('puts the slider on the latest step until moved, then on the chosen one', () => {
    const steps = stepsOf(entries);
    expect(steps).toEqual([0, 5, 10]);
    expect(sliderIndex(steps, null)).toBe(2);
    expect(sliderIndex(steps, 5)).toBe(1);
    expect(sliderIndex(steps, 7)).toBe(1);
    expect(sliderIndex(steps, -1)).toBe(0);
    expect(sliderIndex([], null)).toBe(0);
  });
});

describe('markdown setting', () => {
  it('defaults to on and is saved', () => {
    const data = new Map<string, string>();
    const storage = { getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => void data.set(k, v) };
    expect(loadMarkdown(storage)).toBe(true);
    saveMarkdown(storage, false);
    expect(loadMarkdown(storage)).toBe(false);
    expect(loadMarkdown(null)).toBe(true);
  });
});
