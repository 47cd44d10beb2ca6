import { describe, expect, it } from 'vitest';

import { compareTags, groupTags, tagGroup } from '../src/core/tags';

describe('tags', () => {
  it('sorts asciinumerically, slash-aware', () => {
    const tags = ['a10', 'a2', 'a/b', 'a_b', 'layer10/w', 'layer9/w', 'b', 'a'];
    expect([...tags].sort(compareTags)).toEqual(['a', 'a/b', 'a2', 'a10', 'a_b', 'b', 'layer9/w', 'layer10/w']);
    expect(compareTags('x007', 'x7')).not.toBe(0);
  });

  it('groups by the part before the first slash', () => {
    expect(tagGroup('loss/train/step')).toBe('loss');
    expect(tagGroup('accuracy')).toBe('accuracy');
    expect(groupTags(['loss/val', 'acc', 'loss/train'])).toEqual([
      { name: 'acc', tags: ['acc'] },
      { name: 'loss', tags: ['loss/train', 'loss/val'] },
    ]);
  });
});
