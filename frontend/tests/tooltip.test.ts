import { describe, expect, it } from 'vitest';

import { nearestIndex, sortRows, type TooltipRow } from '../src/charts/tooltip';

function row(name: string, y: number, xPx: number, yPx: number): TooltipRow {
  return {
    name, color: '#000', y, value: y, smoothed: null, step: 0, wallTime: 0, relative: 0,
    xPx, yPx, distance: Infinity, closest: false,
  };
}

describe('nearestIndex', () => {
  it('finds the nearest x by binary search', () => {
    const xs = [0, 10, 20, 30];
    expect(nearestIndex(xs, -5)).toBe(0);
    expect(nearestIndex(xs, 4)).toBe(0);
    expect(nearestIndex(xs, 6)).toBe(1);
    expect(nearestIndex(xs, 15)).toBe(1); // ties go left
    expect(nearestIndex(xs, 99)).toBe(3);
    expect(nearestIndex([], 1)).toBe(-1);
  });
});

describe('sortRows (TensorBoard sort modes)', () => {
  const cursor = { xPx: 100, yPx: 50 };
  const rows = () => [
    row('b', 3, 100, 10), // 40 px away
    row('a', 1, 100, 90), // 40 px away, below
    row('c', 2, 110, 52), // nearest
    row('d', NaN, 100, NaN),
  ];
  const names = (rs: TooltipRow[]) => rs.map((r) => r.name);

  it('alphabetical', () => {
    expect(names(sortRows(rows(), 'alphabetical', cursor))).toEqual(['a', 'b', 'c', 'd']);
  });

  it('ascending and descending by the drawn value, NaN last', () => {
    expect(names(sortRows(rows(), 'ascending', cursor))).toEqual(['a', 'c', 'b', 'd']);
    expect(names(sortRows(rows(), 'descending', cursor))).toEqual(['b', 'c', 'a', 'd']);
  });

  it('nearest pixel (the default) and nearest Y', () => {
    expect(names(sortRows(rows(), 'nearest', cursor))[0]).toBe('c');
    const ys = [row('far-x-near-y', 0, 400, 51), row('near-x', 0, 101, 70)];
    expect(names(sortRows(ys, 'nearest-y', cursor))).toEqual(['far-x-near-y', 'near-x']);
    expect(names(sortRows(ys, 'nearest', cursor))).toEqual(['near-x', 'far-x-near-y']);
  });

  it('marks the row nearest the cursor, whatever the order', () => {
    const sorted = sortRows(rows(), 'alphabetical', cursor);
    expect(sorted.filter((r) => r.closest).map((r) => r.name)).toEqual(['c']);
  });
});
