import { describe, expect, it } from 'vitest';

import { createClient, type SeriesColumns, type SeriesResponse } from '../src/core/api';
import { mergeAnswer } from '../src/dashboards/scalars/cardData';
import type { RunData } from '../src/dashboards/scalars/model';

function columns(stamp: string, wall: number[]): SeriesColumns {
  return {
    total: wall.length,
    stamp,
    step: Float64Array.from(wall.map((_, i) => i)),
    wall_time: Float64Array.from(wall),
    value: Float64Array.from(wall.map(() => 1)),
  };
}

function held(...runs: [string, RunData | null][]): Map<string, RunData | null> {
  return new Map(runs);
}

describe('mergeAnswer', () => {
  const a: RunData = { run: 'a', columns: columns('p.1', [10, 11]), start: 10 };
  const b: RunData = { run: 'b', columns: columns('p.2', [20, 21]), start: 20 };

  it('keeps the very objects of unchanged runs, and reports no change when that is all', () => {
    const byRun = new Map<string, RunData | null>();
    const answer: SeriesResponse = { tag: 't', runs: {}, unchanged: ['a', 'b'] };
    const changed = mergeAnswer(byRun, ['a', 'b', 'c'], held(['a', a], ['b', b], ['c', null]), answer, true, new Map());
    expect(changed).toBe(false);
    expect(byRun.get('a')).toBe(a);
    expect(byRun.get('b')).toBe(b);
    expect(byRun.get('c')).toBeNull(); // still lacking the tag: no change
  });

  it('takes the runs that came, with their new columns and start', () => {
    const byRun = new Map<string, RunData | null>();
    const starts = new Map<string, number>([['b', 20]]);
    const grown = columns('p.9', [19, 20, 21, 22]);
    const answer: SeriesResponse = { tag: 't', runs: { b: grown }, unchanged: ['a'] };
    expect(mergeAnswer(byRun, ['a', 'b'], held(['a', a], ['b', b]), answer, true, starts)).toBe(true);
    expect(byRun.get('a')).toBe(a);
    expect(byRun.get('b')!.columns).toBe(grown);
    expect(byRun.get('b')!.start).toBe(19);
    expect(starts.get('b')).toBe(19);
  });

  it('keeps the whole series start when the answer is a zoomed range', () => {
    const byRun = new Map<string, RunData | null>();
    const starts = new Map<string, number>([['a', 10]]);
    const zoomed = columns('p.1', [30, 31]);
    mergeAnswer(byRun, ['a'], new Map(), { tag: 't', runs: { a: zoomed } }, false, starts);
    expect(byRun.get('a')!.start).toBe(10);
    expect(starts.get('a')).toBe(10);
  });

  it('counts a run that lost the tag, or is named unchanged without being held, as a change', () => {
    const byRun = new Map<string, RunData | null>();
    const answer: SeriesResponse = { tag: 't', runs: {}, unchanged: ['x'] };
    expect(mergeAnswer(byRun, ['a', 'x'], held(['a', a]), answer, true, new Map())).toBe(true);
    expect(byRun.get('a')).toBeNull();
    expect(byRun.get('x')).toBeNull();
  });

  it('reads a run named __proto__ as a run', () => {
    const byRun = new Map<string, RunData | null>();
    const runs = Object.fromEntries([['__proto__', columns('p.5', [1])]]);
    expect(mergeAnswer(byRun, ['__proto__'], new Map(), { tag: 't', runs }, true, new Map())).toBe(true);
    expect(byRun.get('__proto__')!.columns.stamp).toBe('p.5');
  });
});

describe('getJsonIfChanged', () => {
  it('asks with the tag, bypasses the browser cache, and gives null on a 304', async () => {
    const seen: RequestInit[] = [];
    const answers = [
      new Response('{"a": 1}', { headers: { 'Content-Type': 'application/json', ETag: 'W/"x1"' } }),
      new Response(null, { status: 304, headers: { ETag: 'W/"x1"' } }),
    ];
    const client = createClient(async (_url, init) => {
      seen.push(init!);
      return answers.shift()!;
    });
    const first = await client.getJsonIfChanged<{ a: number }>('data/x', null);
    expect(first).toEqual({ data: { a: 1 }, etag: 'W/"x1"' });
    expect(seen[0]!.cache).toBe('no-store');
    expect(new Headers(seen[0]!.headers).has('if-none-match')).toBe(false);
    expect(await client.getJsonIfChanged('data/x', 'W/"x1"')).toBeNull();
    expect(new Headers(seen[1]!.headers).get('if-none-match')).toBe('W/"x1"');
  });

  it('treats a 304 it did not ask for as an error, and keeps errors as ApiError', async () => {
    const client = createClient(async () => new Response(null, { status: 304 }));
    await expect(client.getJsonIfChanged('data/x', null)).rejects.toMatchObject({ status: 304 });
    const failing = createClient(
      async () => new Response('{"error": "no run named \\"b\\""}', { status: 404, headers: { 'Content-Type': 'application/json' } }),
    );
    await expect(failing.getJsonIfChanged('data/x', 'W/"x1"')).rejects.toMatchObject({ status: 404, message: 'no run named "b"' });
  });
});
