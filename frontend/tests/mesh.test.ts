import { describe, expect, it } from 'vitest';

import {
  applyDefaults,
  boundingBox,
  decodeColors,
  decodeFaces,
  decodeVertices,
  fitCamera,
  parseConfig,
  srgbToLinear,
  stepsOf,
  type MeshEntry,
} from '../src/dashboards/mesh/model';
import { cardKey, cardsOf, parseCardKey } from '../src/dashboards/mesh/cards';

function entry(step: number, content_type: number, config = '{}'): MeshEntry {
  return { wall_time: 100 + step, step, content_type, components: 14, config, data_shape: [1, 3, 3] };
}

function bytes(array: Float32Array | Int32Array | Uint8Array): ArrayBuffer {
  return array.buffer.slice(array.byteOffset, array.byteOffset + array.byteLength) as ArrayBuffer;
}

describe('stepsOf', () => {
  it('keeps the steps with vertices and notes the other parts present', () => {
    const steps = stepsOf([entry(2, 1), entry(0, 1), entry(0, 2), entry(0, 3), entry(2, 3), entry(5, 3)]);
    expect(steps.map((s) => [s.step, s.hasFaces, s.hasColors])).toEqual([
      [0, true, true],
      [2, false, true],
    ]);
    expect(steps[0]!.wallTime).toBe(100);
  });
});

describe('parseConfig', () => {
  it("applies TensorBoard's defaults", () => {
    const { config, error } = parseConfig('{}');
    expect(error).toBeNull();
    expect(config.camera).toEqual({ fov: 75, near: null, far: null, position: null, lookAt: null });
    expect(config.lights.map((l) => [l.cls, l.intensity])).toEqual([
      ['AmbientLight', 0.75],
      ['DirectionalLight', 0.75],
    ]);
    expect(config.lights[1]!.position).toEqual([0, -1, 2]);
    expect(config.material.size).toBeNull();
  });

  it('takes camera, lights and material from config_dict', () => {
    const { config } = parseConfig(
      JSON.stringify({
        camera: { cls: 'PerspectiveCamera', fov: 40, near: 0.5, far: 50, position: [1, 2, 3] },
        lights: [{ cls: 'PointLight', color: '#ff0000', intensity: 2, position: [0, 5, 0] }],
        material: { cls: 'PointsMaterial', size: 0.25, color: 0x00ff00, opacity: 3 },
      }),
    );
    expect(config.camera).toEqual({ fov: 40, near: 0.5, far: 50, position: [1, 2, 3], lookAt: null });
    expect(config.lights).toEqual([{ cls: 'PointLight', color: '#ff0000', intensity: 2, position: [0, 5, 0] }]);
    expect(config.material.size).toBe(0.25);
    expect(config.material.color).toBe('#00ff00');
    expect(config.material.opacity).toBe(1);
  });

  it('falls back on malformed values and reports text that is not a JSON object', () => {
    const odd = parseConfig(
      JSON.stringify({ camera: { fov: 500, near: -1, far: 'x', position: [1, 2] }, lights: 'no', material: { size: -2, color: 'url(x)' } }),
    );
    expect(odd.config.camera).toEqual({ fov: 75, near: null, far: null, position: null, lookAt: null });
    expect(odd.config.lights).toEqual([]);
    expect(odd.config.material.size).toBeNull();
    expect(odd.config.material.color).toBeNull();
    expect(parseConfig('{oops').error).toMatch(/not JSON/);
    expect(parseConfig('[1]').error).toMatch(/not a JSON object/);
    expect(parseConfig('[1]').config.camera.fov).toBe(75);
  });

  it('merges objects key by key, arrays whole', () => {
    expect(applyDefaults({ a: { x: 1 }, l: [3] }, { a: { x: 0, y: 2 }, l: [1, 2], z: 9 })).toEqual({
      a: { x: 1, y: 2 },
      l: [3],
      z: 9,
    });
  });
});

describe('buffers', () => {
  it('decodes little-endian vertices and refuses a ragged buffer', () => {
    const v = new Float32Array([0, 1, 2, 3, 4, 5]);
    expect([...decodeVertices(bytes(v))]).toEqual([0, 1, 2, 3, 4, 5]);
    expect(() => decodeVertices(new ArrayBuffer(10))).toThrow(/multiple of 12/);
  });

  it('drops faces with an index out of range or a vertex not finite', () => {
    const positions = new Float32Array([0, 0, 0, 1, 0, 0, 0, 1, 0, NaN, 0, 0]);
    const faces = new Int32Array([0, 1, 2, 0, 1, 99, -1, 1, 2, 0, 1, 3, 2, 1, 0]);
    const { index, dropped } = decodeFaces(bytes(faces), positions);
    expect([...index]).toEqual([0, 1, 2, 2, 1, 0]);
    expect(dropped).toBe(3);
  });

  it('turns sRGB bytes into linear colours, or null when not one per vertex', () => {
    const colors = decodeColors(bytes(new Uint8Array([255, 0, 128])), 1)!;
    expect(colors[0]).toBeCloseTo(1);
    expect(colors[1]).toBe(0);
    expect(colors[2]).toBeCloseTo(srgbToLinear(128 / 255));
    expect(colors[2]).toBeCloseTo(0.2159, 3);
    expect(decodeColors(new ArrayBuffer(6), 1)).toBeNull();
  });
});

describe('camera fit', () => {
  it('frames the finite vertices', () => {
    const box = boundingBox(new Float32Array([-1, -1, -1, 1, 1, 1, Infinity, 0, 0]));
    expect(box).toEqual({ min: [-1, -1, -1], max: [1, 1, 1], count: 2 });
    const config = parseConfig('{}').config.camera;
    const view = fitCamera(box, config, 1.5);
    expect(view.target).toEqual([0, 0, 0]);
    const distance = Math.hypot(...view.position);
    // The bounding sphere (radius √3) stays in front of the camera and inside near..far.
    expect(distance).toBeGreaterThan(Math.sqrt(3));
    expect(view.near).toBeLessThan(distance - Math.sqrt(3));
    expect(view.far).toBeGreaterThan(distance + Math.sqrt(3));
    // The half-extent 1 fits the 75° view with a margin: farther than 1 / tan(37.5°).
    expect(distance).toBeGreaterThan(1 / Math.tan((37.5 * Math.PI) / 180));
    // A narrower window moves the camera back.
    expect(Math.hypot(...fitCamera(box, config, 0.5).position)).toBeGreaterThan(distance);
  });

  it("keeps the config's camera position", () => {
    const box = boundingBox(new Float32Array([0, 0, 0, 2, 2, 2]));
    const camera = { ...parseConfig('{}').config.camera, position: [9, 9, 9] as [number, number, number] };
    expect(fitCamera(box, camera, 1).position).toEqual([9, 9, 9]);
    expect(fitCamera(box, camera, 1).target).toEqual([1, 1, 1]);
  });

  it('survives empty and single-point clouds', () => {
    const empty = fitCamera(boundingBox(new Float32Array()), parseConfig('').config.camera, 1);
    const single = fitCamera(boundingBox(new Float32Array([5, 5, 5])), parseConfig('').config.camera, 1);
    for (const view of [empty, single]) {
      expect(view.position.every(Number.isFinite)).toBe(true);
      expect(view.near).toBeGreaterThan(0);
      expect(view.far).toBeGreaterThan(view.near);
    }
  });
});

describe('cards', () => {
  it('one card per mesh and shown run, in the runs order', () => {
    const tags = { b: { cloud: { samples: 1 } }, a: { cloud: { samples: 2 }, solid: { samples: 1 } }, c: {} };
    expect([...cardsOf(tags, ['a', 'b'])]).toEqual([
      ['cloud', ['a', 'b']],
      ['solid', ['a']],
    ]);
    expect(parseCardKey(cardKey('x"/y', 'run\u0000'))).toEqual(['x"/y', 'run\u0000']);
  });
});
