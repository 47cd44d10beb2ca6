/**
 * The mesh dashboard's pure logic: the `/meshes` metadata as steps, the scene config
 * (`config_dict`, JSON for three.js) merged over TensorBoard's defaults and checked, the raw
 * `/data` buffers as typed arrays ready for a BufferGeometry, and the camera that fits a box.
 */

export type PartName = 'VERTEX' | 'FACE' | 'COLOR';

/** `MeshPluginData.ContentType` numbers. */
export const CONTENT_TYPES: Record<PartName, number> = { VERTEX: 1, FACE: 2, COLOR: 3 };

/** One entry of `/meshes`: one part of one step (TensorBoard's shape). */
export interface MeshEntry {
  wall_time: number;
  step: number;
  content_type: number;
  components: number;
  config: string;
  data_shape: number[];
}

/** `/tags`: run -> mesh name -> batch size. */
export type MeshTags = Record<string, Record<string, { samples: number }>>;

/** A step that can be drawn: it has vertices; faces and colours when those parts have it. */
export interface MeshStep {
  step: number;
  wallTime: number;
  hasFaces: boolean;
  hasColors: boolean;
  /** The scene config (JSON text) of the vertex series. */
  config: string;
}

/** The drawable steps, in step order. Parts written at other steps than the vertices are left out. */
export function stepsOf(entries: readonly MeshEntry[]): MeshStep[] {
  const byStep = new Map<number, MeshStep>();
  for (const entry of entries) {
    if (entry.content_type === CONTENT_TYPES.VERTEX) {
      byStep.set(entry.step, {
        step: entry.step,
        wallTime: entry.wall_time,
        hasFaces: false,
        hasColors: false,
        config: entry.config,
      });
    }
  }
  for (const entry of entries) {
    const step = byStep.get(entry.step);
    if (!step) continue;
    if (entry.content_type === CONTENT_TYPES.FACE) step.hasFaces = true;
    if (entry.content_type === CONTENT_TYPES.COLOR) step.hasColors = true;
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

// ---- scene config ---------------------------------------------------------------------------

export type Vec3 = [number, number, number];

export interface CameraConfig {
  fov: number;
  near: number | null;
  far: number | null;
  position: Vec3 | null;
  lookAt: Vec3 | null;
}

export type LightKind = 'AmbientLight' | 'DirectionalLight' | 'PointLight' | 'HemisphereLight';

export interface LightConfig {
  cls: LightKind;
  color: string;
  intensity: number;
  position: Vec3 | null;
}

/** Material options lumiboard applies (three.js names); others in the config are ignored. */
export interface MaterialConfig {
  size: number | null;
  color: string | null;
  opacity: number | null;
  roughness: number | null;
  metalness: number | null;
  wireframe: boolean;
  flatShading: boolean;
  sizeAttenuation: boolean;
}

export interface SceneConfig {
  camera: CameraConfig;
  lights: LightConfig[];
  material: MaterialConfig;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `user` over `defaults`, objects merged key by key (TensorBoard's `_applyDefaults`): a user
 * value wins, an array replaces the default array whole.
 */
export function applyDefaults(user: Json, defaults: Json): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(defaults)) out[key] = value;
  for (const [key, value] of Object.entries(user)) {
    const base = out[key];
    out[key] = isObject(value) && isObject(base) ? applyDefaults(value, base) : value;
  }
  return out;
}

/** TensorBoard's defaults (`mesh-viewer.ts`): a 75° camera, an ambient and a directional light. */
export const DEFAULT_CONFIG: Json = {
  camera: { cls: 'PerspectiveCamera', fov: 75 },
  lights: [
    { cls: 'AmbientLight', color: '#ffffff', intensity: 0.75 },
    { cls: 'DirectionalLight', color: '#ffffff', intensity: 0.75, position: [0, -1, 2] },
  ],
  material: {},
};

const LIGHTS: readonly LightKind[] = ['AmbientLight', 'DirectionalLight', 'PointLight', 'HemisphereLight'];

function finite(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function positive(value: unknown): number | null {
  const number = finite(value);
  return number !== null && number > 0 ? number : null;
}

function vec3(value: unknown): Vec3 | null {
  if (!Array.isArray(value) || value.length !== 3) return null;
  const [x, y, z] = value.map(finite);
  return x != null && y != null && z != null ? [x, y, z] : null;
}

const CSS_COLOR = /^(#[0-9a-f]{3}|#[0-9a-f]{6}|rgb\(\s*\d+\s*,\s*\d+\s*,\s*\d+\s*\)|[a-z]{3,20})$/i;

function color(value: unknown): string | null {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffff) {
    return `#${value.toString(16).padStart(6, '0')}`;
  }
  return typeof value === 'string' && CSS_COLOR.test(value.trim()) ? value.trim() : null;
}

function light(value: unknown): LightConfig | null {
  if (!isObject(value) || !LIGHTS.includes(value.cls as LightKind)) return null;
  return {
    cls: value.cls as LightKind,
    color: color(value.color) ?? '#ffffff',
    intensity: finite(value.intensity) ?? 1,
    position: vec3(value.position),
  };
}

/**
 * A mesh's `config` (the JSON text of `config_dict`) merged over TensorBoard's defaults, every
 * field checked: what is missing or malformed falls back to the default, and `error` says why
 * when the text is not a JSON object.
 */
export function parseConfig(text: string): { config: SceneConfig; error: string | null } {
  let user: Json = {};
  let error: string | null = null;
  if (text.trim()) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (isObject(parsed)) user = parsed;
      else error = 'the scene config is not a JSON object';
    } catch (e) {
      error = `the scene config is not JSON: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  const merged = applyDefaults(user, DEFAULT_CONFIG);
  const camera = isObject(merged.camera) ? merged.camera : {};
  const fov = positive(camera.fov);
  const near = positive(camera.near);
  const far = positive(camera.far);
  const lights = Array.isArray(merged.lights)
    ? merged.lights.map(light).filter((item): item is LightConfig => item !== null)
    : [];
  const material = isObject(merged.material) ? merged.material : {};
  const unit = (value: unknown) => {
    const number = finite(value);
    return number === null ? null : Math.min(1, Math.max(0, number));
  };
  return {
    config: {
      camera: {
        fov: fov !== null && fov < 180 ? fov : 75,
        near,
        far: far !== null && (near === null || far > near) ? far : null,
        position: vec3(camera.position),
        lookAt: vec3(camera.lookAt),
      },
      lights,
      material: {
        size: positive(material.size),
        color: color(material.color),
        opacity: unit(material.opacity),
        roughness: unit(material.roughness),
        metalness: unit(material.metalness),
        wireframe: material.wireframe === true,
        flatShading: material.flatShading === true,
        sizeAttenuation: material.sizeAttenuation !== false,
      },
    },
    error,
  };
}

// ---- buffers --------------------------------------------------------------------------------

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Big-endian machines only: read the little-endian words one by one. */
function littleEndian<T extends Float32Array | Int32Array>(
  buffer: ArrayBuffer,
  make: (length: number) => T,
  read: (view: DataView, offset: number) => number,
): T {
  const out = make(buffer.byteLength / 4);
  const view = new DataView(buffer);
  for (let i = 0; i < out.length; i++) out[i] = read(view, i * 4);
  return out;
}

/** `/data?content_type=VERTEX`: little-endian float32 triples. */
export function decodeVertices(buffer: ArrayBuffer): Float32Array {
  if (buffer.byteLength % 12 !== 0) {
    throw new Error(`vertex data holds ${buffer.byteLength} bytes, not a multiple of 12`);
  }
  if (LITTLE_ENDIAN) return new Float32Array(buffer.slice(0));
  return littleEndian(buffer, (n) => new Float32Array(n), (view, at) => view.getFloat32(at, true));
}

export interface Faces {
  /** Vertex indices, three per drawn triangle. */
  index: Uint32Array;
  /** Triangles left out: an index outside [0, vertexCount), or a vertex not finite. */
  dropped: number;
}

/** `/data?content_type=FACE` (little-endian int32 triples), without the triangles that cannot be drawn. */
export function decodeFaces(buffer: ArrayBuffer, positions: Float32Array): Faces {
  if (buffer.byteLength % 12 !== 0) {
    throw new Error(`face data holds ${buffer.byteLength} bytes, not a multiple of 12`);
  }
  const raw = LITTLE_ENDIAN
    ? new Int32Array(buffer)
    : littleEndian(buffer, (n) => new Int32Array(n), (view, at) => view.getInt32(at, true));
  const vertexCount = positions.length / 3;
  const good = (i: number) =>
    i >= 0 &&
    i < vertexCount &&
    Number.isFinite(positions[3 * i]!) &&
    Number.isFinite(positions[3 * i + 1]!) &&
    Number.isFinite(positions[3 * i + 2]!);
  const index = new Uint32Array(raw.length);
  let kept = 0;
  for (let t = 0; t < raw.length; t += 3) {
    const a = raw[t]!;
    const b = raw[t + 1]!;
    const c = raw[t + 2]!;
    if (good(a) && good(b) && good(c)) {
      index[kept++] = a;
      index[kept++] = b;
      index[kept++] = c;
    }
  }
  return { index: index.slice(0, kept), dropped: (raw.length - kept) / 3 };
}

/** An sRGB component (0..1) in linear light, as three.js wants vertex colours. */
export function srgbToLinear(c: number): number {
  return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
}

const LINEAR = Array.from({ length: 256 }, (_, i) => srgbToLinear(i / 255));

/**
 * `/data?content_type=COLOR` (uint8 RGB per vertex) as linear floats, or null when the count
 * does not match the vertices (TensorBoard then ignores the colours too).
 */
export function decodeColors(buffer: ArrayBuffer, vertexCount: number): Float32Array | null {
  if (buffer.byteLength !== vertexCount * 3) return null;
  const bytes = new Uint8Array(buffer);
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = LINEAR[bytes[i]!]!;
  return out;
}

// ---- camera ---------------------------------------------------------------------------------

export interface Box {
  min: Vec3;
  max: Vec3;
  /** Vertices with a finite position (the others are not drawn). */
  count: number;
}

/** The box around the finite vertices; a unit box at the origin when there are none. */
export function boundingBox(positions: Float32Array): Box {
  const min: Vec3 = [Infinity, Infinity, Infinity];
  const max: Vec3 = [-Infinity, -Infinity, -Infinity];
  let count = 0;
  for (let i = 0; i + 2 < positions.length; i += 3) {
    const x = positions[i]!;
    const y = positions[i + 1]!;
    const z = positions[i + 2]!;
    if (!Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(z)) continue;
    count++;
    if (x < min[0]) min[0] = x;
    if (y < min[1]) min[1] = y;
    if (z < min[2]) min[2] = z;
    if (x > max[0]) max[0] = x;
    if (y > max[1]) max[1] = y;
    if (z > max[2]) max[2] = z;
  }
  if (count === 0) return { min: [-0.5, -0.5, -0.5], max: [0.5, 0.5, 0.5], count };
  return { min, max, count };
}

export function boxCenter(box: Box): Vec3 {
  return [0, 1, 2].map((i) => (box.min[i]! + box.max[i]!) / 2) as Vec3;
}

/** Half the box's diagonal (a small positive number for a single point). */
export function boxRadius(box: Box): number {
  const dx = box.max[0] - box.min[0];
  const dy = box.max[1] - box.min[1];
  const dz = box.max[2] - box.min[2];
  const radius = Math.sqrt(dx * dx + dy * dy + dz * dz) / 2;
  return radius > 0 ? radius : Math.max(1e-3, Math.abs(boxCenter(box)[0]) * 1e-3);
}

export interface CameraView {
  position: Vec3;
  target: Vec3;
  near: number;
  far: number;
}

/** Where the default camera looks from: in front, slightly above and to the right. */
const VIEW_DIRECTION: Vec3 = (() => {
  const v: Vec3 = [0.45, 0.35, 1];
  const length = Math.hypot(...v);
  return v.map((c) => c / length) as Vec3;
})();

/**
 * A camera that shows the whole box in the narrower of the two fields of view, with a margin. `camera.position` / `lookAt` / `near` / `far` of the config win.
 */
export function fitCamera(box: Box, camera: CameraConfig, aspect: number): CameraView {
  const radius = boxRadius(box);
  const target = camera.lookAt ?? boxCenter(box);
  const vertical = (camera.fov * Math.PI) / 180;
  const horizontal = 2 * Math.atan(Math.tan(vertical / 2) * (aspect > 0 && Number.isFinite(aspect) ? aspect : 1));
  const half = Math.min(vertical, horizontal) / 2;
  // The box's largest half-extent fills the view with a margin; never inside the bounding sphere.
  const extent = Math.max(...[0, 1, 2].map((i) => (box.max[i]! - box.min[i]!) / 2), radius / 1000);
  const distance = Math.max((extent / Math.tan(half)) * 1.3, radius * 1.05);
  const position: Vec3 =
    camera.position ?? [
      target[0] + VIEW_DIRECTION[0] * distance,
      target[1] + VIEW_DIRECTION[1] * distance,
      target[2] + VIEW_DIRECTION[2] * distance,
    ];
  const reach = Math.hypot(position[0] - target[0], position[1] - target[1], position[2] - target[2]) + radius;
  return {
    position,
    target,
    near: camera.near ?? Math.max(reach / 1000, 1e-6),
    far: camera.far ?? reach * 20,
  };
}

/** A point size (world units) that draws a cloud's points a few pixels wide: its radius / 60. */
export function defaultPointSize(box: Box): number {
  return boxRadius(box) / 60;
}

// ---- live WebGL contexts --------------------------------------------------------------------

/** A view holding a WebGL context that the pool may ask to give it up. */
export interface ContextHolder {
  /** Whether the view is on (or near) the screen now: such views are released last. */
  readonly onScreen: boolean;
  /** Give the context back (the pool has already forgotten the holder). */
  release(): void;
}

/**
 * The live WebGL contexts of the mesh cards, least recently drawn first. Browsers allow a page
 * only so many (Chrome ~16, and it silently kills the oldest past that), so at most `cap` are
 * kept: a view about to draw calls `use`, which releases the least recently drawn other views
 * (off-screen ones first) to make room. A released view makes a new context when it next draws.
 */
export class ContextPool<T extends ContextHolder> {
  private order: T[] = [];

  constructor(readonly cap: number) {}

  get size(): number {
    return this.order.length;
  }

  has(holder: T): boolean {
    return this.order.includes(holder);
  }

  /** Least recently drawn first. */
  holders(): readonly T[] {
    return this.order;
  }

  /** `holder` draws now (it holds, or is about to make, a context): returns the views released. */
  use(holder: T): T[] {
    this.forget(holder);
    this.order.push(holder);
    const released: T[] = [];
    while (this.order.length > Math.max(1, this.cap)) {
      const others = this.order.filter((h) => h !== holder);
      const victim = others.find((h) => !h.onScreen) ?? others[0]!;
      this.forget(victim);
      released.push(victim);
      victim.release();
    }
    return released;
  }

  /** `holder` gave its context back by itself (went off-screen, lost it, went away). */
  forget(holder: T): void {
    const at = this.order.indexOf(holder);
    if (at >= 0) this.order.splice(at, 1);
  }
}
