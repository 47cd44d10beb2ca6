import { describe, expect, it } from 'vitest';

import { effectiveRegex, escapeRegex, matches, parseFilter, suggest } from '../src/core/regex';
import { filterRuns, shownRuns } from '../src/core/runs';

describe('regex filters', () => {
  it('an empty filter matches everything', () => {
    const f = parseFilter('');
    expect(f.regex).toBeNull();
    expect(f.error).toBeNull();
    expect(matches(f.regex, 'anything')).toBe(true);
  });

  it('is a case-insensitive regex, matched anywhere', () => {
    const f = parseFilter('^Loss/(train|val)$');
    expect(f.error).toBeNull();
    expect(matches(f.regex, 'loss/train')).toBe(true);
    expect(matches(f.regex, 'LOSS/VAL')).toBe(true);
    expect(matches(f.regex, 'loss/test')).toBe(false);
    expect(matches(parseFilter('seed').regex, 'lr_0.1_seed3')).toBe(true);
  });

  it('is stateless across calls (no global flag)', () => {
    const { regex } = parseFilter('a');
    expect([1, 2, 3].map(() => matches(regex, 'a'))).toEqual([true, true, true]);
  });

  it('flags an invalid regex and keeps the last valid one in force', () => {
    const bad = parseFilter('loss/(');
    expect(bad.regex).toBeNull();
    expect(bad.error).toMatch(/^Invalid regex/);
    const last = /loss/i;
    expect(effectiveRegex(bad, last)).toBe(last);
    const good = parseFilter('acc');
    expect(effectiveRegex(good, last)).toBe(good.regex);
    expect(parseFilter('[').error).not.toBeNull();
    expect(parseFilter('*').error).not.toBeNull();
  });

  it('filters runs and applies the selection', () => {
    const runs = ['a_seed1', 'a_seed2', 'b_seed1'];
    expect(filterRuns(runs, '^a')).toEqual(['a_seed1', 'a_seed2']);
    expect(shownRuns(runs, 'seed1', { mode: 'all', runs: ['b_seed1'] })).toEqual(['a_seed1']);
    expect(shownRuns(runs, '', { mode: 'only', runs: ['b_seed1'] })).toEqual(['b_seed1']);
  });
});

describe('tag autocomplete', () => {
  const tags = ['accuracy', 'loss/train', 'loss/val', 'eval/loss', 'lr'];

  it('lists matches, those starting with the text first', () => {
    expect(suggest('loss', tags)).toEqual(['loss/train', 'loss/val', 'eval/loss']);
    expect(suggest('l', tags, 2)).toEqual(['loss/train', 'loss/val']);
    expect(suggest('', tags)).toEqual([]);
  });

  it('reads the text as a regex when it is one, else as plain text', () => {
    expect(suggest('^l.*n$', tags)).toEqual(['loss/train']);
    expect(suggest('loss/(', ['loss/(x)', 'loss/y'])).toEqual(['loss/(x)']);
  });

  it('offers nothing once the text names the only match', () => {
    expect(suggest('loss\\/val', tags)).toEqual([]);
    expect(suggest('^loss\\/val$', tags)).toEqual([]);
    expect(suggest('accuracy', tags)).toEqual([]);
  });

  it('escapes names into literal regexes', () => {
    const name = 'a.b/c(d)[e]*+?^$|{f}\\';
    const regex = new RegExp(`^${escapeRegex(name)}$`);
    expect(regex.test(name)).toBe(true);
    expect(regex.test('aXb/c(d)[e]*+?^$|{f}\\')).toBe(false);
  });
});
