import { describe, expect, it } from 'vitest';

import {
  clampSample,
  describeClip,
  formatClipDuration,
  imageFilter,
  indexAtOrBelow,
  shownIndex,
  sortByStep,
  unionSteps,
} from '../src/dashboards/images/steps';

describe('indexAtOrBelow', () => {
  const steps = [0, 5, 10, 20];
  it('finds the last step at or below the target', () => {
    expect(indexAtOrBelow(steps, 0)).toBe(0);
    expect(indexAtOrBelow(steps, 4)).toBe(0);
    expect(indexAtOrBelow(steps, 5)).toBe(1);
    expect(indexAtOrBelow(steps, 19)).toBe(2);
    expect(indexAtOrBelow(steps, 1e9)).toBe(3);
  });
  it('falls back to the first step, and -1 without steps', () => {
    expect(indexAtOrBelow([3, 4], 1)).toBe(0);
    expect(indexAtOrBelow([], 1)).toBe(-1);
  });
});

describe('shownIndex', () => {
  it('follows the newest step until one is picked', () => {
    expect(shownIndex([1, 2, 3], null)).toBe(2);
    expect(shownIndex([1, 2, 3, 4], null)).toBe(3);
    expect(shownIndex([1, 2, 3], 2)).toBe(1);
    expect(shownIndex([], null)).toBe(-1);
  });
});

describe('sortByStep and unionSteps', () => {
  it('orders entries by step, then wall time', () => {
    const entries = [
      { step: 2, wall_time: 5, query: 'a' },
      { step: 1, wall_time: 9, query: 'b' },
      { step: 2, wall_time: 1, query: 'c' },
    ];
    expect(sortByStep(entries).map((e) => e.query)).toEqual(['b', 'c', 'a']);
  });
  it('merges the steps of several cards', () => {
    expect(unionSteps([[0, 2], [1, 2, 7], []])).toEqual([0, 1, 2, 7]);
  });
});

describe('samples and filters', () => {
  it('keeps the sample index in range', () => {
    expect(clampSample(5, 3)).toBe(2);
    expect(clampSample(-1, 3)).toBe(0);
    expect(clampSample(Number.NaN, 3)).toBe(0);
    expect(clampSample(1.7, 3)).toBe(1);
    expect(clampSample(0, 0)).toBe(0);
  });
  it('builds the CSS filter only when something changed', () => {
    expect(imageFilter(1, 1)).toBeUndefined();
    expect(imageFilter(0.5, 1.2)).toBe('brightness(0.5) contrast(1.2)');
  });
});

describe('describeClip', () => {
  it('says rate, channels, depth and duration', () => {
    expect(describeClip({ sampleRate: 16000, channels: 1, bitsPerSample: 16, duration: 0.5 })).toBe(
      '16 kHz · mono · 16-bit · 0.50 s',
    );
    expect(describeClip({ sampleRate: 22050, channels: 2, bitsPerSample: 16, duration: 75 })).toBe(
      '22.05 kHz · stereo · 16-bit · 1 min 15.0 s',
    );
    expect(describeClip({ sampleRate: null, channels: 6, bitsPerSample: null, duration: null })).toBe('6 channels');
  });
  it('formats odd durations', () => {
    expect(formatClipDuration(Number.NaN)).toBe('–');
    expect(formatClipDuration(61.25)).toBe('1 min 01.3 s');
  });
});
