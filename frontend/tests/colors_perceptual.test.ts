import { describe, expect, it } from 'vitest';

import { ciede2000, hexDistance, hexToLab, minPairwiseDistance } from '../src/core/ciede2000';
import { PALETTE, RunColors, assignColors } from '../src/core/colors';

// Rows of Sharma, Wu and Dalal (2005), Table 1: CIELAB pairs and their published ΔE00.
const SHARMA: [[number, number, number], [number, number, number], number][] = [
  [[50, 2.6772, -79.7751], [50, 0, -82.7485], 2.0425],
  [[50, 3.1571, -77.2803], [50, 0, -82.7485], 2.8615],
  [[50, 2.8361, -74.02], [50, 0, -82.7485], 3.4412],
  [[50, -1.3802, -84.2814], [50, 0, -82.7485], 1.0],
  [[50, 0, 0], [50, -1, 2], 2.3669],
  [[50, 2.5, 0], [73, 25, -18], 27.1492],
  [[50, 2.5, 0], [61, -5, 29], 22.8977],
  [[50, 2.5, 0], [56, -27, -3], 31.903],
  [[50, 2.5, 0], [58, 24, 15], 19.4535],
  [[60.2574, -34.0099, 36.2677], [60.4626, -34.1751, 39.4387], 1.2644],
];

describe('CIEDE2000', () => {
  it('matches the published test pairs', () => {
    for (const [lab1, lab2, expected] of SHARMA) {
      expect(ciede2000(lab1, lab2)).toBeCloseTo(expected, 4);
      expect(ciede2000(lab2, lab1)).toBeCloseTo(expected, 4);
    }
  });

  it('converts sRGB to CIELAB under D65', () => {
    const white = hexToLab('#ffffff');
    expect(white[0]).toBeCloseTo(100, 3);
    expect(Math.abs(white[1])).toBeLessThan(0.01);
    expect(Math.abs(white[2])).toBeLessThan(0.01);
    const red = hexToLab('#ff0000');
    expect(red[0]).toBeCloseTo(53.24, 1);
    expect(red[1]).toBeCloseTo(80.09, 1);
    expect(red[2]).toBeCloseTo(67.2, 1);
    expect(hexDistance('#123456', '#123456')).toBe(0);
  });
});

// The runs panel and the charts draw the same hex in both themes; the themes differ in what the
// colours are drawn on, so each colour must also stand off both panels.
const THEMES = { light: '#ffffff', dark: '#1a1e24' };

describe('run palette', () => {
  it.each(Object.entries(THEMES))('keeps any two colours >= 20 apart (%s theme)', (_theme, panel) => {
    expect(minPairwiseDistance(PALETTE)).toBeGreaterThanOrEqual(20);
    for (const color of PALETTE) expect(hexDistance(color, panel)).toBeGreaterThan(25);
  });

  it('gives the first 10 runs colours pairwise >= 20 apart, the same on every load', () => {
    for (const prefix of ['run_', 'lr_0.1/seed', 'version_', '']) {
      const runs = Array.from({ length: 10 }, (_, i) => `${prefix}${i}`);
      const first = runs.map((run) => assignColors(runs).get(run)!);
      expect(minPairwiseDistance(first)).toBeGreaterThanOrEqual(20);
      const colors = new RunColors(null);
      colors.setRuns(runs);
      expect(runs.map((run) => colors.get(run))).toEqual(first);
    }
  });
});
