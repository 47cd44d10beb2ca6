import { describe, expect, it } from 'vitest';

import { searchNodes } from '../src/dashboards/graphs/model';
import { passes } from '../src/dashboards/hparams/model';
import { backtrackingRisk, compileRegex, parseFilter } from '../src/core/regex';

// Issue 11 item 3, in the browser: each of these ran for seconds to minutes in V8 against a
// name of 20 to 40 characters ((.|.|.)*x: 100 s on "a" x 22), and filters come from links.
const CATASTROPHIC = ['(.|.|.)*x', '(a|aa)+$', '(a+)+b', '(\\w+\\s?)*$', '((ab)*)+c', '(?:a|b?)+c', '.*.*.*.*.*.*.*x'];

describe('regexes that could freeze the tab', () => {
  it.each(CATASTROPHIC)('refuses %s', (source) => {
    expect(backtrackingRisk(source)).not.toBeNull();
    const filter = parseFilter(source);
    expect(filter.regex).toBeNull();
    expect(filter.error).toMatch(/too slow to match/);
  });

  it.each([
    '^loss/(train|val)$',
    'loss.*',
    '(train|eval)/loss',
    '\\(a+\\)+',
    '[(a+)]+',
    '(a+)?b',
    '(ab){2}',
    'a{2,5}b*',
    '(?:loss)+',
    '(?<kind>train|val)_\\d+',
  ])('accepts %s', (source) => {
    expect(backtrackingRisk(source)).toBeNull();
    expect(parseFilter(source).regex).toBeInstanceOf(RegExp);
  });

  it('refuses what is too long, and still reports bad syntax', () => {
    expect(compileRegex('a'.repeat(1001))).toMatch(/longer than/);
    expect(typeof compileRegex('loss/(')).toBe('string');
  });

  it('guards the hparams filter and the graph search too', () => {
    const name = 'a'.repeat(40);
    // Refused: the filter is off (every row passes), never a frozen tab.
    expect(passes({ kind: 'regex', pattern: '(a|aa)+$' }, name)).toBe(true);
    expect(passes({ kind: 'regex', pattern: '^a+$' }, name)).toBe(true);
    expect(passes({ kind: 'regex', pattern: '^b' }, name)).toBe(false);
    const hierarchy = { groups: [{ path: '' }], nodes: [{ name }] } as unknown as Parameters<typeof searchNodes>[0];
    expect(searchNodes(hierarchy, '(a|aa)+$').error).toMatch(/too slow to match/);
  });
});
