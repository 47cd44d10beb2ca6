import { describe, expect, it } from 'vitest';

import {
  PALETTE,
  RunColors,
  assignColors,
  assignColorsBy,
  colorKey,
  defaultColor,
  hashString,
  withAlpha,
} from '../src/core/colors';

class MemoryStorage {
  data = new Map<string, string>();
  getItem(key: string) {
    return this.data.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.data.set(key, value);
  }
}

describe('run colours', () => {
  it('hashes with 32-bit FNV-1a (stable across sessions and browsers)', () => {
    expect(hashString('')).toBe(0x811c9dc5);
    expect(hashString('a')).toBe(0xe40c292c);
    expect(hashString('foobar')).toBe(0xbf9cf968);
  });

  it('gives a run the same palette colour every time, whatever other runs exist', () => {
    const names = ['train', 'eval', 'lr_0.1/seed1', 'é', ''];
    const first = names.map(defaultColor);
    const second = [...names].reverse().map(defaultColor).reverse();
    expect(second).toEqual(first);
    for (const c of first) expect(PALETTE).toContain(c);
  });

  it('spreads names over the whole palette', () => {
    const used = new Set(Array.from({ length: 400 }, (_, i) => defaultColor(`run_${i}`)));
    expect(used.size).toBe(PALETTE.length);
  });

  it('keeps a picked colour in storage, and forgets it when set back', () => {
    const storage = new MemoryStorage();
    const colors = new RunColors(storage);
    colors.set('a', '#FF0000');
    expect(colors.get('a')).toBe('#ff0000');
    expect(new RunColors(storage).get('a')).toBe('#ff0000');
    expect(colors.store.get().version).toBe(1);
    colors.set('a', null);
    expect(new RunColors(storage).get('a')).toBe(defaultColor('a'));
  });

  it('ignores malformed stored colours', () => {
    const storage = new MemoryStorage();
    storage.setItem('lumiboard.runColors', '{"a": "red", "b": "#00ff00", "c": 3}');
    const colors = new RunColors(storage);
    expect(colors.get('a')).toBe(defaultColor('a'));
    expect(colors.get('b')).toBe('#00ff00');
    storage.setItem('lumiboard.runColors', 'not json');
    expect(new RunColors(storage).get('b')).toBe(defaultColor('b'));
  });

  it('works without storage', () => {
    const colors = new RunColors(null);
    colors.set('x', '#123456');
    expect(colors.get('x')).toBe('#123456');
  });

  it('adds alpha to a hex colour', () => {
    expect(withAlpha('#ff8000', 0.25)).toBe('rgba(255, 128, 0, 0.25)');
  });
});

describe('assignColors', () => {
  it('gives the runs on screen distinct colours while the palette lasts', () => {
    const runs = Array.from({ length: PALETTE.length }, (_, i) => `run_${i}`);
    const colors = assignColors(runs);
    expect(new Set(colors.values()).size).toBe(PALETTE.length);
  });

  it('starts from the hashed slot, and keeps earlier runs when later ones appear', () => {
    const first = assignColors(['a', 'b', 'c']);
    expect(first.get('a')).toBe(defaultColor('a'));
    const later = assignColors(['a', 'b', 'c', 'd', 'e']);
    for (const run of ['a', 'b', 'c']) expect(later.get(run)).toBe(first.get(run));
  });

  it('is used by RunColors once the runs are known', () => {
    const colors = new RunColors(null);
    const runs = Array.from({ length: 10 }, (_, i) => `seed${i}`);
    colors.setRuns(runs);
    expect(new Set(runs.map((r) => colors.get(r))).size).toBe(10);
    const version = colors.store.get().version;
    colors.setRuns(runs);
    expect(colors.store.get().version).toBe(version);
  });
});

describe('colour by regex', () => {
  const runs = ['a_seed1', 'a_seed2', 'b_seed1', 'b_seed2', 'other'];

  it('gives runs with the same capture groups one colour', () => {
    const colors = assignColorsBy(runs, /(.*)_seed\d+/);
    expect(colors.get('a_seed1')).toBe(colors.get('a_seed2'));
    expect(colors.get('b_seed1')).toBe(colors.get('b_seed2'));
    expect(colors.get('a_seed1')).not.toBe(colors.get('b_seed1'));
    expect(colors.get('other')).not.toBe(colors.get('a_seed1'));
    expect(colors.get('other')).not.toBe(colors.get('b_seed1'));
  });

  it('uses the matched text when the regex has no groups, and the run otherwise', () => {
    expect(colorKey('a_seed1', /^a/)).toBe(colorKey('a_seed2', /^a/));
    expect(colorKey('b_seed1', /^a/)).toBe('b_seed1');
    expect(colorKey('x', null)).toBe('x');
    expect(assignColorsBy(runs, null)).toEqual(assignColors(runs));
  });

  it('RunColors applies, stores and rejects patterns', () => {
    const stored = new Map<string, string>();
    const storage = { getItem: (k: string) => stored.get(k) ?? null, setItem: (k: string, v: string) => void stored.set(k, v) };
    const colors = new RunColors(storage);
    colors.setRuns(runs);
    expect(colors.get('a_seed1')).not.toBe(colors.get('a_seed2'));
    const version = colors.store.get().version;
    expect(colors.setColorBy('(.*)_seed')).toBe(true);
    expect(colors.store.get().version).toBeGreaterThan(version);
    expect(colors.get('a_seed1')).toBe(colors.get('a_seed2'));
    expect(colors.setColorBy('(')).toBe(false);
    expect(colors.colorByPattern).toBe('(.*)_seed');
    // A new RunColors over the same storage starts with the pattern.
    const again = new RunColors(storage);
    again.setRuns(runs);
    expect(again.get('b_seed1')).toBe(again.get('b_seed2'));
    // A colour the user picked still wins.
    again.set('b_seed2', '#123456');
    expect(again.get('b_seed2')).toBe('#123456');
    expect(again.setColorBy('')).toBe(true);
    expect(again.get('a_seed1')).not.toBe(again.get('a_seed2'));
  });
});
