import { describe, expect, it } from 'vitest';

import { withProfiledRuns } from '../src/shell/runSources';

describe('withProfiledRuns', () => {
  it('lists the runs of a log directory that holds only profiles', () => {
    expect(withProfiledRuns([], ['torch_run', 'keras/train'])).toEqual(['keras/train', 'torch_run']);
  });

  it('keeps the event-file runs in their order and adds only the profiled runs they lack', () => {
    expect(withProfiledRuns(['b', 'a'], ['a', 'c', 'c'])).toEqual(['b', 'a', 'c']);
  });

  it('leaves an empty log directory empty', () => {
    expect(withProfiledRuns([], [])).toEqual([]);
  });
});
