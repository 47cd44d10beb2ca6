import { describe, expect, it } from 'vitest';

import { ApiError, createClient, decodeFloat64, decodeSeries } from '../src/core/api';

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** What the server sends: little-endian float64, base64. */
function b64(values: number[]): string {
  const view = new DataView(new ArrayBuffer(values.length * 8));
  values.forEach((v, i) => view.setFloat64(i * 8, v, true));
  return base64(new Uint8Array(view.buffer));
}

describe('decodeFloat64', () => {
  it('decodes little-endian float64 exactly, NaN and Inf included', () => {
    const values = [0, -0, 1.5, -2.25e-308, 1e308, Math.PI, NaN, Infinity, -Infinity, 2 ** 53 + 2];
    const out = decodeFloat64(b64(values));
    expect(out).toBeInstanceOf(Float64Array);
    expect(Array.from(out)).toEqual(values);
    expect(Object.is(out[1], -0)).toBe(true);
  });

  it('decodes an empty column', () => {
    expect(decodeFloat64('')).toHaveLength(0);
  });

  it('rejects a length that is not a multiple of 8', () => {
    expect(() => decodeFloat64(base64(new Uint8Array([1, 2, 3])))).toThrow(/multiple of 8/);
  });

  it('decodes the series response into typed columns', () => {
    const decoded = decodeSeries({
      tag: 'loss',
      runs: { a: { total: 10, step: b64([0, 5]), wall_time: b64([1.5, 2.5]), value: b64([0.5, NaN]) } },
    });
    expect(decoded.tag).toBe('loss');
    expect(Array.from(decoded.runs.a!.step)).toEqual([0, 5]);
    expect(decoded.runs.a!.total).toBe(10);
    expect(decoded.runs.a!.value[1]).toBeNaN();
  });

  it('rejects columns of unequal length', () => {
    expect(() =>
      decodeSeries({ tag: 't', runs: { a: { total: 1, step: b64([1]), wall_time: b64([]), value: b64([1]) } } }),
    ).toThrow(/unequal/);
  });
});

describe('createClient', () => {
  it('builds relative URLs and posts series requests as JSON', async () => {
    const calls: { url: string; init?: RequestInit }[] = [];
    const client = createClient(async (url, init) => {
      calls.push({ url, ...(init ? { init } : {}) });
      return new Response(JSON.stringify({ tag: 'x', runs: {} }), { status: 200 });
    });
    await client.scalarSeries({ tag: 'loss/train', runs: ['a b'], buckets: 300, x: 'step', min_step: 5 });
    expect(calls[0]!.url).toBe('data/plugin/scalars/series');
    expect(calls[0]!.init!.method).toBe('POST');
    expect(JSON.parse(calls[0]!.init!.body as string)).toEqual({
      tag: 'loss/train', runs: ['a b'], buckets: 300, x: 'step', min_step: 5,
    });
    expect(client.scalarsUrl('run/1', 'a&b', 'csv')).toBe(
      'data/plugin/scalars/scalars?run=run%2F1&tag=a%26b&format=csv',
    );
    await client.runs();
    expect(calls[1]!.url).toBe('data/runs');
  });

  it('turns a JSON error body into an ApiError with its message', async () => {
    const client = createClient(async () =>
      new Response(JSON.stringify({ error: "run 'x' not found" }), { status: 404 }),
    );
    await expect(client.status()).rejects.toMatchObject({ status: 404, message: "run 'x' not found" });
  });

  it('reports an unreachable server as status 0', async () => {
    const client = createClient(async () => {
      throw new TypeError('fetch failed');
    });
    const error = await client.runs().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(0);
  });
});
