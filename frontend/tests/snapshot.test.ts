import { describe, expect, it } from 'vitest';

import { ApiError, createClient, pluginUrl } from '../src/core/api';
import { snapshotClient } from '../src/snapshot/client';
import { decodeBlock, decodeColumn, type SnapshotData, type StoredColumn } from '../src/snapshot/data';
import { pythonRepr, seriesCsv, seriesJson } from '../src/snapshot/downloads';
import { snapshotFetch } from '../src/snapshot/fetch';
import { requestKey } from '../src/snapshot/keys';
import { reduceSeries, type Columns } from '../src/snapshot/reduce';

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function column(dtype: 'i4' | 'f4' | 'f8', values: number[]): StoredColumn {
  const size = dtype === 'f8' ? 8 : 4;
  const view = new DataView(new ArrayBuffer(values.length * size));
  values.forEach((v, i) => {
    if (dtype === 'i4') view.setInt32(i * size, v, true);
    else if (dtype === 'f4') view.setFloat32(i * size, v, true);
    else view.setFloat64(i * size, v, true);
  });
  return [dtype, base64(new Uint8Array(view.buffer))];
}

// ---- the keys: the same strings as tests/unit/test_snapshot.py's `request_key` expects -----------

describe('requestKey', () => {
  it('sorts parameters by name and encodes them as encodeURIComponent does (as the generator)', () => {
    const url = pluginUrl('images', 'images', { tag: "loss/train*(x)~!'", run: 'lr 0.1+a&b=c%/é', sample: 0 });
    expect(requestKey(url)).toBe(
      "data/plugin/images/images?run=lr%200.1%2Ba%26b%3Dc%25%2F%C3%A9&sample=0&tag=loss%2Ftrain*(x)~!'",
    );
  });

  it('keeps the order of a repeated name, and ignores how the URL was written', () => {
    const key = 'data/plugin/histograms/multirun?runs=b&runs=a&samples=51&tag=w';
    expect(requestKey('data/plugin/histograms/multirun?tag=w&runs=b&samples=51&runs=a')).toBe(key);
    expect(requestKey('./data/plugin/histograms/multirun?samples=51&tag=w&runs=b&runs=a')).toBe(key);
    expect(requestKey('data/runs')).toBe('data/runs');
  });
});

// ---- the reduction: what lumiboard/store/downsample.py answers for the same columns --------------

const STEPS = Array.from({ length: 50 }, (_, i) => 2 * i);
const WALL = STEPS.map((_, i) => 1000 + 1.5 * i);
// sin(i / 5) as numpy computes it, a spike at 17 and a NaN at 30.
const VALUES = [0.0, 0.19866933079506122, 0.3894183423086505, 0.5646424733950354, 0.7173560908995228, 0.8414709848078965, 0.9320390859672263, 0.9854497299884601, 0.9995736030415051, 0.9738476308781951, 0.9092974268256817, 0.8084964038195901, 0.675463180551151, 0.5155013718214642, 0.3349881501559051, 0.1411200080598672, -0.058374143427580086, 9.0, -0.44252044329485246, -0.6118578909427189, -0.7568024953079282, -0.8715757724135882, -0.951602073889516, -0.9936910036334644, -0.9961646088358407, -0.9589242746631385, -0.8834546557201531, -0.7727644875559871, -0.6312666378723216, -0.46460217941375737, NaN, -0.0830894028174964, 0.11654920485049364, 0.31154136351337786, 0.49411335113860816, 0.6569865987187891, 0.7936678638491531, 0.8987080958116269, 0.9679196720314863, 0.998543345374605, 0.9893582466233818, 0.9407305566797731, 0.8545989080882804, 0.7343970978741133, 0.5849171928917617, 0.4121184852417566, 0.22288991410024764, 0.024775425453357765, -0.17432678122297965, -0.3664791292519284];

function columnsOf(values: number[], wall = WALL): Columns {
  return { step: Float64Array.from(STEPS), wall_time: Float64Array.from(wall), value: Float64Array.from(values) };
}

describe('reduceSeries (the server reduction, point for point)', () => {
  const clockBack = WALL.map((w, i) => (i >= 25 ? w - 30 : w));
  const infinite = VALUES.map((v, i) => (i === 5 ? Infinity : i === 40 ? -Infinity : v));
  const cases: [string, Columns, number, [number | null, number | null] | null, 'step' | 'wall_time' | 'relative', number[], number][] = [
    ['whole, few buckets', columnsOf(VALUES), 3, null, 'step', [0, 16, 32, 34, 48, 60, 64, 66, 78, 98], 50],
    ['zoomed', columnsOf(VALUES), 2, [20, 70], 'step', [18, 20, 34, 44, 46, 48, 60, 70, 72], 26],
    ['small range kept whole', columnsOf(VALUES), 50, [10, 30], 'step', [8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32], 11],
    ['wall clock stepped back', columnsOf(VALUES, clockBack), 3, null, 'wall_time', [0, 50, 16, 58, 20, 60, 34, 38, 78, 40, 80, 48, 98], 50],
    ['relative', columnsOf(VALUES), 4, null, 'relative', [0, 16, 24, 26, 34, 48, 50, 60, 72, 74, 78, 98], 50],
    ['infinities', columnsOf(infinite), 3, null, 'step', [0, 10, 32, 34, 48, 60, 64, 66, 78, 80, 98], 50],
  ];
  for (const [name, columns, buckets, range, x, steps, total] of cases) {
    it(name, () => {
      const reduced = reduceSeries(columns, buckets, range, x);
      expect(Array.from(reduced.step)).toEqual(steps);
      expect(reduced.total).toBe(total);
      // Each kept point is the point of that step, whole.
      for (let i = 0; i < reduced.step.length; i++) {
        const at = STEPS.indexOf(reduced.step[i]!);
        expect(reduced.wall_time[i]).toBe(columns.wall_time[at]);
        expect(Object.is(reduced.value[i], columns.value[at])).toBe(true);
      }
    });
  }

  it('refuses what the server refuses', () => {
    expect(() => reduceSeries(columnsOf(VALUES), 0)).toThrow(/buckets/);
    expect(() => reduceSeries(columnsOf(VALUES), 3, [10, 5])).toThrow(/empty/);
    const back = columnsOf(VALUES);
    back.step[3] = 0;
    expect(() => reduceSeries(back, 3)).toThrow(/non-decreasing/);
  });
});

// ---- downloads: TensorBoard's CSV and JSON, as lumiboard/server/responses.py writes them --------

describe('downloads', () => {
  it('writes floats as Python repr does', () => {
    const cases: [number, string][] = [
      [0.1, '0.1'], [1, '1.0'], [1e-5, '1e-05'], [1.5e16, '1.5e+16'], [1e16, '1e+16'], [123456, '123456.0'],
      [-2.5e-7, '-2.5e-07'], [0.0001, '0.0001'], [1e22, '1e+22'], [5e-324, '5e-324'],
      [1.7976931348623157e308, '1.7976931348623157e+308'], [-0, '-0.0'], [0.30000000000000004, '0.30000000000000004'],
      [1234567890123456.8, '1234567890123456.8'], [12345678901234567, '1.2345678901234568e+16'],
      [NaN, 'nan'], [Infinity, 'inf'], [-Infinity, '-inf'],
    ];
    for (const [x, text] of cases) expect(pythonRepr(x)).toBe(text);
  });

  it('writes the CSV byte for byte and the JSON number for number', () => {
    const columns: Columns = {
      step: Float64Array.from([0, 1, 2]),
      wall_time: Float64Array.from([1.5e9 + 0.25, 1.5e9 + 1, 1.5e9 + 2]),
      value: Float64Array.from([0.1, NaN, 1e-5]),
    };
    expect(seriesCsv(columns)).toBe('Wall time,Step,Value\r\n1500000000.25,0,0.1\r\n1500000001.0,1,nan\r\n1500000002.0,2,1e-05\r\n');
    expect(JSON.parse(seriesJson(columns))).toEqual(
      JSON.parse('[[1500000000.25,0,0.1],[1500000001.0,1,"NaN"],[1500000002.0,2,0.00001]]'),
    );
  });
});

// ---- the fetch and the client -------------------------------------------------------------------

function snapshot(): SnapshotData {
  return {
    format: 1,
    meta: { logdir: 'runs', created: 1.7e9, version: '0', runs: null, tags: null, dashboards: ['scalars'] },
    responses: {
      'data/runs': { status: 200, json: ['a', 'b'] },
      [requestKey(pluginUrl('text', 'text', { run: 'a', tag: 'notes' }))]: { status: 200, json: [{ step: 1, text: '<p>hi</p>' }] },
      [requestKey(pluginUrl('images', 'individualImage', { blob_key: 'k' }))]: { status: 200, type: 'image/png', base64: 'iVBORw==' },
      [requestKey(pluginUrl('images', 'individualImage', { blob_key: 'gone' }))]: { status: 404, json: { error: 'the event file no longer holds this blob' } },
      [requestKey(pluginUrl('histograms', 'multirun', { tag: 'w', runs: 'a', samples: 51 }))]: { status: 200, json: { tag: 'w', runs: { a: [[1, 0, [[0, 1, 2]]]] } } },
      [requestKey(pluginUrl('histograms', 'multirun', { tag: 'w', runs: 'b', samples: 51 }))]: { status: 200, json: { tag: 'w', runs: { b: [[2, 0, [[0, 1, 3]]]] } } },
    },
    scalars: {
      loss: {
        a: { step: column('i4', STEPS), wall_time: column('f8', WALL), value: column('f8', VALUES) },
        b: { step: column('i4', [0, 1]), wall_time: column('f8', [5, 6]), value: column('f4', [0.5, 0.25]) },
      },
    },
  };
}

describe('snapshotFetch', () => {
  it('answers stored JSON and bytes with their status and media type', async () => {
    const fetch = snapshotFetch(snapshot());
    const runs = await fetch('data/runs');
    expect(runs.status).toBe(200);
    expect(await runs.json()).toEqual(['a', 'b']);
    // Parameters in another order find the same answer.
    expect(await (await fetch('data/plugin/text/text?tag=notes&run=a')).json()).toEqual([{ step: 1, text: '<p>hi</p>' }]);
    const image = await fetch('data/plugin/images/individualImage?blob_key=k');
    expect(image.headers.get('Content-Type')).toBe('image/png');
    expect(Array.from(new Uint8Array(await image.arrayBuffer()))).toEqual([0x89, 0x50, 0x4e, 0x47]);
    expect((await fetch('data/plugin/images/individualImage?blob_key=gone')).status).toBe(404);
  });

  it('answers what it lacks with a 404 the dashboards show as any failed request', async () => {
    const client = createClient(snapshotFetch(snapshot()));
    const error = await client.getJson('data/plugin/pr_curves/tags').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(404);
    expect((error as ApiError).message).toBe('not in this snapshot: data/plugin/pr_curves/tags');
    const post = await client.postJson('data/plugin/hparams/session_groups', {}).catch((e: unknown) => e);
    expect((post as ApiError).status).toBe(405);
  });

  it('merges the stored histograms of each run asked for, leaving out runs without the tag', async () => {
    const fetch = snapshotFetch(snapshot());
    const answer = await (await fetch(pluginUrl('histograms', 'multirun', { tag: 'w', runs: ['b', 'a', 'c'], samples: 51 }))).json();
    expect(answer).toEqual({ tag: 'w', runs: { b: [[2, 0, [[0, 1, 3]]]], a: [[1, 0, [[0, 1, 2]]]] } });
  });

  it('answers the series route as the server: reduced, every run with the tag', async () => {
    const client = createClient(snapshotFetch(snapshot()));
    const series = await client.scalarSeries({ tag: 'loss', runs: ['a', 'b', 'c'], buckets: 3, x: 'step' });
    expect(Object.keys(series.runs)).toEqual(['a', 'b']);
    expect(Array.from(series.runs.a!.step)).toEqual([0, 16, 32, 34, 48, 60, 64, 66, 78, 98]);
    expect(series.runs.a!.total).toBe(50);
    expect(Array.from(series.runs.b!.value)).toEqual([0.5, 0.25]);
    const bad = await client.scalarSeries({ tag: 'loss', runs: ['a'], buckets: 0, x: 'step' }).catch((e: unknown) => e);
    expect((bad as ApiError).status).toBe(400);
  });

  it('serves the downloads from the columns', async () => {
    const client = createClient(snapshotFetch(snapshot()));
    const csv = await client.text(client.scalarsUrl('b', 'loss', 'csv'));
    expect(csv).toBe('Wall time,Step,Value\r\n5.0,0,0.5\r\n6.0,1,0.25\r\n');
  });

  it('waits for the data to be decoded, and passes data: URLs through', async () => {
    let resolve: (data: SnapshotData) => void = () => undefined;
    const pending = new Promise<SnapshotData>((r) => (resolve = r));
    const passed: string[] = [];
    const fetch = snapshotFetch(pending, async (input) => {
      passed.push(input);
      return new Response('x');
    });
    const answer = fetch('data/runs');
    resolve(snapshot());
    expect(await (await answer).json()).toEqual(['a', 'b']);
    await fetch('data:,x');
    expect(passed).toEqual(['data:,x']);
  });
});

describe('snapshotClient', () => {
  it('reduces series itself and links downloads to blob: URLs it can read back', async () => {
    const client = snapshotClient(Promise.resolve(snapshot()));
    const series = await client.scalarSeries({ tag: 'loss', runs: ['a'], buckets: 2, x: 'step', min_step: 20, max_step: 70 });
    expect(Array.from(series.runs.a!.step)).toEqual([18, 20, 34, 44, 46, 48, 60, 70, 72]);
    const url = client.scalarsUrl('b', 'loss', 'json');
    expect(url).toMatch(/^blob:/);
    expect(client.scalarsUrl('b', 'loss', 'json')).toBe(url);
    expect(JSON.parse(await client.text(url))).toEqual([[5, 0, 0.5], [6, 1, 0.25]]);
    // A series the snapshot lacks keeps the route's URL, whose request is a 404.
    expect(client.scalarsUrl('b', 'nope', 'csv')).toBe('data/plugin/scalars/scalars?run=b&tag=nope&format=csv');
  });
});

describe('the data block', () => {
  it('decodes columns of each dtype exactly', () => {
    expect(Array.from(decodeColumn(column('i4', [0, -5, 2 ** 31 - 1])))).toEqual([0, -5, 2 ** 31 - 1]);
    expect(Array.from(decodeColumn(column('f4', [0.5, NaN, -Infinity])))).toEqual([0.5, NaN, -Infinity]);
    expect(Array.from(decodeColumn(column('f8', [0.1, 1e300])))).toEqual([0.1, 1e300]);
    expect(() => decodeColumn(['f8', base64(new Uint8Array(3))])).toThrow(/3 bytes/);
  });

  it('reads gzipped JSON in base64, and plain JSON', async () => {
    const data = snapshot();
    const stream = new Blob([JSON.stringify(data)]).stream().pipeThrough(new CompressionStream('gzip'));
    const packed = base64(new Uint8Array(await new Response(stream).arrayBuffer()));
    expect(await decodeBlock(packed, 'gzip-base64')).toEqual(data);
    expect(await decodeBlock(JSON.stringify(data), null)).toEqual(data);
    await expect(decodeBlock('x', 'brotli')).rejects.toThrow(/unknown/);
  });
});
