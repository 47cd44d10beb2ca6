import { describe, expect, it } from 'vitest';

import { ContextPool, type ContextHolder } from '../src/dashboards/mesh/model';

class View implements ContextHolder {
  released = 0;
  constructor(
    readonly name: string,
    public onScreen = true,
  ) {}
  release(): void {
    this.released++;
  }
}

const names = (views: readonly View[]) => views.map((v) => v.name);

describe('ContextPool', () => {
  it('keeps at most `cap` holders, releasing the least recently drawn', () => {
    const pool = new ContextPool<View>(3);
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => new View(n)) as [View, View, View, View];
    expect(pool.use(a)).toEqual([]);
    expect(pool.use(b)).toEqual([]);
    expect(pool.use(c)).toEqual([]);
    expect(pool.size).toBe(3);
    expect(names(pool.use(d))).toEqual(['a']);
    expect(a.released).toBe(1);
    expect(names(pool.holders())).toEqual(['b', 'c', 'd']);
    expect(pool.has(a)).toBe(false);
  });

  it('drawing again makes a holder the most recent', () => {
    const pool = new ContextPool<View>(2);
    const [a, b, c] = ['a', 'b', 'c'].map((n) => new View(n)) as [View, View, View];
    pool.use(a);
    pool.use(b);
    pool.use(a); // a drew last: b is now the oldest
    expect(names(pool.holders())).toEqual(['b', 'a']);
    expect(names(pool.use(c))).toEqual(['b']);
    expect(b.released).toBe(1);
    expect(a.released).toBe(0);
    // Using a holder already in the pool never releases anything.
    expect(pool.use(c)).toEqual([]);
  });

  it('releases off-screen holders before on-screen ones', () => {
    const pool = new ContextPool<View>(2);
    const a = new View('a');
    const b = new View('b', false);
    const c = new View('c');
    pool.use(a);
    pool.use(b);
    expect(names(pool.use(c))).toEqual(['b']);
    expect(names(pool.holders())).toEqual(['a', 'c']);
  });

  it('never releases the holder that is drawing, whatever the cap', () => {
    const pool = new ContextPool<View>(0);
    const a = new View('a');
    const b = new View('b');
    pool.use(a);
    expect(names(pool.use(b))).toEqual(['a']);
    expect(names(pool.holders())).toEqual(['b']);
    expect(b.released).toBe(0);
  });

  it('forget drops a holder that gave its context back by itself', () => {
    const pool = new ContextPool<View>(2);
    const [a, b, c] = ['a', 'b', 'c'].map((n) => new View(n)) as [View, View, View];
    pool.use(a);
    pool.use(b);
    pool.forget(a);
    pool.forget(a); // twice is harmless
    expect(pool.use(c)).toEqual([]);
    expect(a.released).toBe(0);
    expect(names(pool.holders())).toEqual(['b', 'c']);
  });

  it('stays within the cap as many views scroll past', () => {
    const pool = new ContextPool<View>(8);
    const views = Array.from({ length: 40 }, (_, i) => new View(`v${i}`, false));
    for (const [i, view] of views.entries()) {
      // A window of 6 cards on screen slides down the page.
      for (const [j, other] of views.entries()) other.onScreen = j > i - 6 && j <= i;
      pool.use(view);
      expect(pool.size).toBeLessThanOrEqual(8);
      for (const held of pool.holders().filter((h) => h.onScreen)) expect(held.released).toBe(0);
    }
    expect(views.reduce((n, v) => n + v.released, 0)).toBe(32);
  });
});
