import { describe, expect, it } from 'vitest';

import { fitTabs } from '../src/shell/tabFit';

const TABS = ['scalars', 'images', 'audio', 'graphs', 'text'];
const WIDTHS = new Map(TABS.map((t) => [t, 100]));

describe('fitTabs', () => {
  it('shows what fits, in order, and hides the rest', () => {
    expect(fitTabs(TABS, WIDTHS, 1000, 'scalars')).toEqual({ shown: TABS, hidden: [] });
    expect(fitTabs(TABS, WIDTHS, 350, 'scalars')).toEqual({
      shown: ['scalars', 'images', 'audio'],
      hidden: ['graphs', 'text'],
    });
  });

  it('always shows the current tab, in place of the last one that fits', () => {
    expect(fitTabs(TABS, WIDTHS, 350, 'text')).toEqual({
      shown: ['scalars', 'images', 'text'],
      hidden: ['audio', 'graphs'],
    });
    expect(fitTabs(TABS, WIDTHS, 50, 'graphs')).toEqual({
      shown: ['graphs'],
      hidden: ['scalars', 'images', 'audio', 'text'],
    });
  });

  it('guesses the width of tabs not measured yet', () => {
    expect(fitTabs(TABS, new Map(), 230, 'scalars', 110).shown).toEqual(['scalars', 'images']);
  });
});
