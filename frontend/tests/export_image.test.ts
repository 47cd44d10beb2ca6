import { describe, expect, it } from 'vitest';

import { legendLayout } from '../src/charts/exportImage';

describe('legendLayout', () => {
  const measure = (text: string) => text.length * 10;

  it('lays entries out left to right and wraps at the width', () => {
    // Each entry is 10 (swatch) + 6 + 10 per character + 16.
    expect(legendLayout(['ab', 'cd', 'ef'], 120, measure)).toEqual([
      { x: 0, row: 0 },
      { x: 52, row: 0 },
      { x: 0, row: 1 },
    ]);
  });

  it('puts an entry wider than the row on a row of its own', () => {
    expect(legendLayout(['a'.repeat(50), 'b'], 100, measure)).toEqual([
      { x: 0, row: 0 },
      { x: 0, row: 1 },
    ]);
    expect(legendLayout([], 100, measure)).toEqual([]);
  });
});
