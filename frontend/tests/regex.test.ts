import { describe, expect, it } from 'vitest';

import { effectiveRegex, matches, parseFilter } from '../src/core/regex';
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
