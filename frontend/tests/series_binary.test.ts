import { describe, expect, it } from 'vitest';

import { createClient, decodeSeries, type SeriesResponse } from '../src/core/api';
import { SERIES_MEDIA_TYPE, decodeSeriesBinary } from '../src/core/seriesBinary';

// Made by the server's encoder (lumiboard.plugins.scalars.series_binary.encode_series) and its
// JSON route (float64_base64) from the same five runs: float32 values with NaN and -0, Inf wall
// times, an empty run, a run named "__proto__", an odd name, steps past int32 and past 2**53.
const SERVER_BINARY =
  'TEJTMakBAAB7InRhZyI6Imxvc3Mvw7wiLCJydW5zIjpbeyJydW4iOiJ0cmFpbiIsInRvdGFsIjoxMiwiY291bnQiOjMsInN0' +
  'ZXAiOiJpNCIsIndhbGxfdGltZSI6ImY4IiwidmFsdWUiOiJmNCJ9LHsicnVuIjoiX19wcm90b19fIiwidG90YWwiOjIsImNv' +
  'dW50IjoyLCJzdGVwIjoiaTQiLCJ3YWxsX3RpbWUiOiJmOCIsInZhbHVlIjoiZjgifSx7InJ1biI6IiIsInRvdGFsIjowLCJj' +
  'b3VudCI6MCwic3RlcCI6Imk0Iiwid2FsbF90aW1lIjoiZjgiLCJ2YWx1ZSI6ImY4In0seyJydW4iOiJhIFwiYlwiL8O8IPCf' +
  'mYIiLCJ0b3RhbCI6MiwiY291bnQiOjIsInN0ZXAiOiJmOCIsIndhbGxfdGltZSI6ImY4IiwidmFsdWUiOiJmOCJ9LHsicnVu' +
  'IjoiaHVnZSIsInRvdGFsIjoyLCJjb3VudCI6Miwic3RlcCI6Imk4Iiwid2FsbF90aW1lIjoiZjgiLCJ2YWx1ZSI6ImY0In1d' +
  'fQAAAAAAAAAAAAAABQAAAAoAAAAAAAAAAAAAwAta1kEAABDAC1rWQQAAwMELWtZBAAAAPwAAwH8AAACAAAAAAP3///////9/' +
  'AAAAAAAA8H8AAAAAAADwvwAAAAAAAPB/AAAAAAAA8P8AAAAAAABwQgAAAAAAAEBDAAAAAAAAAAAAAAAAAADwP5qZmZmZmbk/' +
  'oMjrhfPM4X8BAAAAAAAAQP3///////+/AAAAAAAAAEAAAAAAAAAIQAAAgD8AAABA';
const SERVER_JSON =
  '{"tag":"loss/ü","runs":{"train":{"total":12,"step":"AAAAAAAAAAAAAAAAAAAUQAAAAAAAACRA","wall_time' +
  '":"AAAAwAta1kEAABDAC1rWQQAAwMELWtZB","value":"AAAAAAAA4D8AAAAAAAD4fwAAAAAAAACA"},"__proto__":{"t' +
  'otal":2,"step":"AAAAAAAACMAAAMD////fQQ==","wall_time":"AAAAAAAA8H8AAAAAAADwvw==","value":"AAAAAA' +
  'AA8H8AAAAAAADw/w=="},"":{"total":0,"step":"","wall_time":"","value":""},"a \\"b\\"/ü 🙂":{"total"' +
  ':2,"step":"AAAAAAAAcEIAAAAAAABAQw==","wall_time":"AAAAAAAAAAAAAAAAAADwPw==","value":"mpmZmZmZuT+' +
  'gyOuF88zhfw=="},"huge":{"total":2,"step":"AAAAAAAA0EMAAAAAAADQww==","wall_time":"AAAAAAAAAEAAAAA' +
  'AAAAIQA==","value":"AAAAAAAA8D8AAAAAAAAAQA=="}}}';

function bytesOf(base64: string): ArrayBuffer {
  const binary = atob(base64);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out.buffer;
}

type Dtype = 'i4' | 'i8' | 'f4' | 'f8';
interface TestRun {
  run: string;
  total: number;
  step: number[];
  wall_time: number[];
  value: number[];
  dtypes?: [Dtype, Dtype, Dtype];
}

/** The server's format, written again here from its spec (docs/HTTP_API.md). */
function encode(tag: string, runs: TestRun[]): ArrayBuffer {
  const meta = new TextEncoder().encode(
    JSON.stringify({
      tag,
      runs: runs.map((r) => {
        const [step, wall_time, value] = r.dtypes ?? ['i4', 'f8', 'f8'];
        return { run: r.run, total: r.total, count: r.step.length, step, wall_time, value };
      }),
    }),
  );
  const align = (n: number) => n + ((8 - (n % 8)) % 8);
  let size = align(8 + meta.length);
  for (const r of runs) {
    for (const d of r.dtypes ?? ['i4', 'f8', 'f8']) size = align(size + r.step.length * (d.endsWith('4') ? 4 : 8));
  }
  const buffer = new ArrayBuffer(size);
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  bytes.set([76, 66, 83, 49]); // LBS1
  view.setUint32(4, meta.length, true);
  bytes.set(meta, 8);
  let offset = align(8 + meta.length);
  for (const r of runs) {
    const dtypes = r.dtypes ?? ['i4', 'f8', 'f8'];
    [r.step, r.wall_time, r.value].forEach((values, index) => {
      const dtype = dtypes[index]!;
      values.forEach((v, i) => {
        if (dtype === 'f8') view.setFloat64(offset + i * 8, v, true);
        else if (dtype === 'f4') view.setFloat32(offset + i * 4, v, true);
        else if (dtype === 'i4') view.setInt32(offset + i * 4, v, true);
        else view.setBigInt64(offset + i * 8, BigInt(v), true);
      });
      offset = align(offset + values.length * (dtype.endsWith('4') ? 4 : 8));
    });
  }
  return buffer;
}

/** Column by column with Object.is: NaN equals NaN, -0 differs from 0. */
function expectSame(got: SeriesResponse, want: SeriesResponse): void {
  expect(got.tag).toBe(want.tag);
  expect(Object.keys(got.runs)).toEqual(Object.keys(want.runs));
  for (const [run, columns] of Object.entries(want.runs)) {
    const other = Object.getOwnPropertyDescriptor(got.runs, run)!.value as typeof columns;
    expect(other.total).toBe(columns.total);
    for (const name of ['step', 'wall_time', 'value'] as const) {
      expect(other[name]).toBeInstanceOf(Float64Array);
      expect(other[name].length).toBe(columns[name].length);
      columns[name].forEach((v, i) =>
        expect(Object.is(other[name][i], v), `${run} ${name}[${i}]`).toBe(true),
      );
    }
  }
}

describe('decodeSeriesBinary', () => {
  it("decodes the server's binary answer to exactly its JSON answer", () => {
    const binary = decodeSeriesBinary(bytesOf(SERVER_BINARY));
    const json = decodeSeries(JSON.parse(SERVER_JSON));
    expectSame(binary, json);
    expect(Object.getPrototypeOf(binary.runs)).toBe(Object.prototype); // "__proto__" is a run
    expect(Object.hasOwn(binary.runs, '__proto__')).toBe(true);
    expect(binary.runs['']!.step).toHaveLength(0);
    expect(Number.isNaN(binary.runs.train!.value[1])).toBe(true);
    expect(Object.is(binary.runs.train!.value[2], -0)).toBe(true);
    expect(Array.from(binary.runs.huge!.step)).toEqual([2 ** 62, -(2 ** 62)]); // as float64, as JSON
    expect(binary.runs['a "b"/ü 🙂']!.step[1]).toBe(2 ** 53);
  });

  it('views float64 columns in place and widens the others', () => {
    const buffer = encode('t', [
      { run: 'a', total: 3, step: [1, 2, 3], wall_time: [0.5, 1.5, 2.5], value: [1, 2, 3] },
      { run: 'b', total: 2, step: [7, 8], wall_time: [1, 2], value: [0.25, NaN], dtypes: ['i4', 'f8', 'f4'] },
    ]);
    const decoded = decodeSeriesBinary(buffer);
    expect(decoded.runs.a!.wall_time.buffer).toBe(buffer); // zero-copy
    expect(decoded.runs.a!.value.buffer).toBe(buffer);
    expect(decoded.runs.b!.value).toBeInstanceOf(Float64Array);
    expect(decoded.runs.b!.value[0]).toBe(0.25);
    expect(decoded.runs.b!.value[1]).toBeNaN();
    expect(Array.from(decoded.runs.b!.step)).toEqual([7, 8]);
  });

  it('round-trips random runs, NaN, Inf, empty runs and odd names through both answers', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const names = ['run 1', '', 'ü/ä "q"', '__proto__', 'constructor', 'a\nb', '🙂'.repeat(3)];
    const runs: TestRun[] = names.map((run, k) => {
      const count = k === 1 ? 0 : 1 + Math.floor(Math.abs(random()) * 200);
      const step = Array.from({ length: count }, (_, i) => i * 3 - 50);
      const wall_time = step.map((s) => 1.7e9 + s * 0.125);
      const value = step.map((_, i) => [NaN, Infinity, -Infinity, -0][i % 13] ?? random() * 1e6);
      return { run, total: count * 2, step, wall_time, value, dtypes: ['i4', 'f8', 'f8'] };
    });
    const json = {
      tag: 'loss',
      runs: Object.fromEntries(
        runs.map((r) => [
          r.run,
          { total: r.total, step: b64(r.step), wall_time: b64(r.wall_time), value: b64(r.value) },
        ]),
      ),
    };
    expectSame(decodeSeriesBinary(encode('loss', runs)), decodeSeries(json));
  });

  it('rejects a body that is not the format or is cut short', () => {
    const text = new TextEncoder().encode('{"tag": "x"}').buffer as ArrayBuffer;
    expect(() => decodeSeriesBinary(text)).toThrow(/LBS1/);
    const whole = encode('t', [
      { run: 'a', total: 3, step: [1, 2, 3], wall_time: [1, 2, 3], value: [1, 2, 3] },
    ]);
    expect(() => decodeSeriesBinary(whole.slice(0, whole.byteLength - 8))).toThrow(/cut short/);
    const longer = new Uint8Array(whole.byteLength + 8);
    longer.set(new Uint8Array(whole));
    expect(() => decodeSeriesBinary(longer.buffer)).toThrow(/left over/);
    const meta = encode('t', [
      { run: 'a', total: 1, step: [1], wall_time: [1], value: [1], dtypes: ['i4', 'f8', 'u8' as Dtype] },
    ]);
    expect(() => decodeSeriesBinary(meta)).toThrow(/describes a run badly/);
  });
});

function b64(values: number[]): string {
  const view = new DataView(new ArrayBuffer(values.length * 8));
  values.forEach((v, i) => view.setFloat64(i * 8, v, true));
  let binary = '';
  for (const b of new Uint8Array(view.buffer)) binary += String.fromCharCode(b);
  return btoa(binary);
}

describe('scalarSeries', () => {
  it('asks for the binary answer and decodes it', async () => {
    const seen: RequestInit[] = [];
    const client = createClient(async (_url, init) => {
      seen.push(init!);
      return new Response(bytesOf(SERVER_BINARY), { headers: { 'Content-Type': SERIES_MEDIA_TYPE } });
    });
    const got = await client.scalarSeries({ tag: 'loss/ü', runs: ['train'], buckets: 10, x: 'step' });
    expect(new Headers(seen[0]!.headers).get('accept')).toContain(SERIES_MEDIA_TYPE);
    expectSame(got, decodeSeries(JSON.parse(SERVER_JSON)));
  });

  it('falls back to JSON when the server answers JSON', async () => {
    const client = createClient(async () =>
      new Response(SERVER_JSON, { headers: { 'Content-Type': 'application/json' } }),
    );
    const got = await client.scalarSeries({ tag: 'loss/ü', runs: ['train'], buckets: 10, x: 'step' });
    expectSame(got, decodeSeries(JSON.parse(SERVER_JSON)));
  });
});

// The server's encoder, given stamps and unchanged runs (encode_series(tag, runs, stamps,
// unchanged)): run "a" with its stamp, runs "b" and "c" named unchanged.
const SERVER_STAMPED =
  'TEJTMY0AAAB7InRhZyI6Imxvc3MiLCJydW5zIjpbeyJydW4iOiJhIiwidG90YWwiOjIsInN0YW1wIjoiOWYzYzAxYWEuNDIi' +
  'LCJjb3VudCI6Miwic3RlcCI6Imk0Iiwid2FsbF90aW1lIjoiZjgiLCJ2YWx1ZSI6ImY0In1dLCJ1bmNoYW5nZWQiOlsiYiIs' +
  'ImMiXX0AAAAAAAAABQAAAAAAAAAAAPg/AAAAAAAABEAAAAA/AACAPg==';

describe('stamps and unchanged runs', () => {
  it('carries each run stamp and the unchanged runs, in both answers', () => {
    const binary = decodeSeriesBinary(bytesOf(SERVER_STAMPED));
    expect(binary.runs.a!.stamp).toBe('9f3c01aa.42');
    expect(Array.from(binary.runs.a!.step)).toEqual([0, 5]);
    expect(binary.unchanged).toEqual(['b', 'c']);
    const json = decodeSeries({
      tag: 'loss',
      runs: { a: { total: 2, stamp: '9f3c01aa.42', step: '', wall_time: '', value: '' } },
      unchanged: ['b', 'c'],
    });
    expect(json.runs.a!.stamp).toBe('9f3c01aa.42');
    expect(json.unchanged).toEqual(['b', 'c']);
  });

  it('leaves them out where an older server sent none', () => {
    const got = decodeSeries(JSON.parse(SERVER_JSON));
    expect(got.unchanged).toBeUndefined();
    expect('stamp' in got.runs.train!).toBe(false);
    expect(decodeSeriesBinary(bytesOf(SERVER_BINARY)).unchanged).toBeUndefined();
  });

  it('sends the known stamps in the request body', async () => {
    const bodies: unknown[] = [];
    const client = createClient(async (_url, init) => {
      bodies.push(JSON.parse(String(init!.body)));
      return new Response(bytesOf(SERVER_STAMPED), { headers: { 'Content-Type': SERIES_MEDIA_TYPE } });
    });
    const got = await client.scalarSeries({ tag: 'loss', runs: ['a', 'b', 'c'], buckets: 10, x: 'step', known: { b: 'x.1', c: 'x.2' } });
    expect(bodies[0]).toMatchObject({ known: { b: 'x.1', c: 'x.2' } });
    expect(got.unchanged).toEqual(['b', 'c']);
  });
});
