/**
 * The projector's canvas: every point as a three.js `Points` cloud (one draw call), coloured per
 * point, or drawn as its sprite thumbnail. 2D: an orthographic camera, drag pans; 3D: a
 * perspective camera, drag orbits. Wheel zooms, shift-drag selects a box, hover shows a label,
 * click selects. Highlighted points (selection, neighbours, search matches) are a second, bigger
 * cloud drawn on top; labels of highlighted points are HTML over the canvas.
 *
 * It renders on demand (a camera move, new data, a resize, a theme change), never in a loop, and
 * frees its WebGL context, geometry, materials and textures on `dispose()`.
 */
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';

import { cancelFrame, scheduleFrame } from '../../core/frame';

export interface ScatterCallbacks {
  onHover(index: number | null): void;
  onClick(index: number | null): void;
  onBox(indices: number[]): void;
  onLost(): void;
}

export interface Highlight {
  indices: number[];
  /** RGB 0–1 of each, or null for the point's own colour. */
  ring: [number, number, number];
}

const VERTEX = /* glsl */ `
attribute vec3 color;
attribute float sprite;
uniform float pointSize;
uniform float perspective;
varying vec3 vColor;
varying float vSprite;
void main() {
  vec4 mv = modelViewMatrix * vec4(position, 1.0);
  gl_Position = projectionMatrix * mv;
  gl_PointSize = perspective > 0.5 ? pointSize * 3.0 / max(0.2, -mv.z) : pointSize;
  vColor = color;
  vSprite = sprite;
}`;

const FRAGMENT = /* glsl */ `
uniform sampler2D atlas;
uniform float useSprites;
uniform vec2 grid;
uniform vec3 ring;
uniform float ringWidth;
uniform float opacity;
varying vec3 vColor;
varying float vSprite;
void main() {
  vec2 p = gl_PointCoord;
  if (useSprites > 0.5) {
    float col = mod(vSprite, grid.x);
    float row = floor(vSprite / grid.x);
    vec2 uv = vec2((col + p.x) / grid.x, 1.0 - (row + p.y) / grid.y);
    vec4 texel = texture2D(atlas, uv);
    float edge = max(abs(p.x - 0.5), abs(p.y - 0.5));
    if (ringWidth > 0.0 && edge > 0.5 - ringWidth) { gl_FragColor = vec4(ring, 1.0); return; }
    gl_FragColor = vec4(texel.rgb, opacity);
    return;
  }
  float r = length(p - vec2(0.5));
  if (r > 0.5) discard;
  if (ringWidth > 0.0 && r > 0.5 - ringWidth) { gl_FragColor = vec4(ring, 1.0); return; }
  gl_FragColor = vec4(vColor, opacity);
}`;

export interface Sprites {
  image: HTMLImageElement;
  /** Thumbnails per row and per column of the sheet. */
  columns: number;
  rows: number;
}

export class ScatterView {
  readonly canvas: HTMLCanvasElement;
  private renderer: THREE.WebGLRenderer;
  private scene = new THREE.Scene();
  private ortho = new THREE.OrthographicCamera(-1, 1, 1, -1, -100, 100);
  private persp = new THREE.PerspectiveCamera(45, 1, 0.01, 100);
  private controls: OrbitControls;
  private dims: 2 | 3 = 2;
  private base: THREE.Points | null = null;
  private top: THREE.Points | null = null;
  private atlas: THREE.Texture | null = null;
  private sprites: Sprites | null = null;
  /** Scaled positions of every point (n × 3), the unit cube around the origin. */
  private positions: Float32Array = new Float32Array(0);
  private colors: Float32Array = new Float32Array(0);
  private visible: number[] = [];
  private highlight: Highlight = { indices: [], ring: [0, 0, 0] };
  private labels: Array<{ index: number; text: string; strong: boolean }> = [];
  private labelLayer: HTMLDivElement;
  private box: HTMLDivElement;
  private screen: Float32Array | null = null;
  private framePending = false;
  private width = 1;
  private height = 1;
  private background = '#ffffff';
  private resizeObserver: ResizeObserver;
  private dragStart: { x: number; y: number } | null = null;
  private downAt: { x: number; y: number } | null = null;
  private disposed = false;
  /** Frames drawn (tests wait on `data-renders`). */
  renders = 0;

  constructor(
    private host: HTMLElement,
    private callbacks: ScatterCallbacks,
  ) {
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'projector__gl';
    this.canvas.dataset.testid = 'projector-canvas';
    host.appendChild(this.canvas);
    this.renderer = new THREE.WebGLRenderer({ canvas: this.canvas, antialias: true, preserveDrawingBuffer: true });
    this.renderer.setPixelRatio(Math.min(2, window.devicePixelRatio || 1));
    this.canvas.addEventListener('webglcontextlost', this.onContextLost);
    this.labelLayer = document.createElement('div');
    this.labelLayer.className = 'projector__labels';
    host.appendChild(this.labelLayer);
    this.box = document.createElement('div');
    this.box.className = 'projector__box';
    this.box.hidden = true;
    host.appendChild(this.box);
    this.controls = new OrbitControls(this.ortho, this.canvas);
    this.configureControls();
    host.addEventListener('pointerdown', this.onPointerDown, { capture: true });
    host.addEventListener('pointermove', this.onPointerMove);
    host.addEventListener('pointerup', this.onPointerUp);
    host.addEventListener('pointerleave', this.onPointerLeave);
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(host);
    this.resize();
  }

  private get camera(): THREE.Camera {
    return this.dims === 2 ? this.ortho : this.persp;
  }

  private configureControls(): void {
    this.controls.dispose();
    this.controls = new OrbitControls(this.camera as THREE.PerspectiveCamera | THREE.OrthographicCamera, this.canvas);
    this.controls.screenSpacePanning = true;
    if (this.dims === 2) {
      this.controls.enableRotate = false;
      this.controls.mouseButtons = { LEFT: THREE.MOUSE.PAN, MIDDLE: THREE.MOUSE.DOLLY, RIGHT: THREE.MOUSE.PAN };
      this.controls.touches = { ONE: THREE.TOUCH.PAN, TWO: THREE.TOUCH.DOLLY_PAN };
    }
    this.controls.addEventListener('change', this.onCameraChange);
  }

  /**
   * New coordinates (`n × 3`, z ignored in 2D): scaled into the unit cube. `fit` resets the
   * camera (new data, a new projection); otherwise the view stays (t-SNE animating).
   */
  setPoints(coords: Float32Array, dims: 2 | 3, fit: boolean): void {
    const n = coords.length / 3;
    const lo = [Infinity, Infinity, Infinity];
    const hi = [-Infinity, -Infinity, -Infinity];
    for (let i = 0; i < n; i++) {
      for (let d = 0; d < dims; d++) {
        const v = coords[i * 3 + d]!;
        if (!Number.isFinite(v)) continue;
        lo[d] = Math.min(lo[d]!, v);
        hi[d] = Math.max(hi[d]!, v);
      }
    }
    let span = 0;
    for (let d = 0; d < dims; d++) span = Math.max(span, hi[d]! - lo[d]!);
    const scale = span > 0 ? 2 / span : 1;
    const positions = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {
      for (let d = 0; d < dims; d++) {
        const v = coords[i * 3 + d]!;
        positions[i * 3 + d] = Number.isFinite(v) ? (v - (lo[d]! + hi[d]!) / 2) * scale : 0;
      }
    }
    this.positions = positions;
    if (dims !== this.dims) {
      this.dims = dims;
      this.configureControls();
      fit = true;
    }
    this.rebuild();
    if (fit) this.resetView();
    else this.request();
  }

  setColors(colors: Float32Array): void {
    this.colors = colors;
    this.rebuild();
  }

  /** Which points are drawn (isolate selection); null: all. */
  setVisible(indices: number[] | null): void {
    const n = this.positions.length / 3;
    this.visible = indices ?? Array.from({ length: n }, (_, i) => i);
    this.rebuild();
  }

  setHighlight(highlight: Highlight): void {
    this.highlight = highlight;
    this.rebuildTop();
    this.request();
  }

  setLabels(labels: Array<{ index: number; text: string; strong: boolean }>): void {
    this.labels = labels;
    this.request();
  }

  setSprites(sprites: Sprites | null): void {
    this.atlas?.dispose();
    this.atlas = null;
    this.sprites = sprites;
    if (sprites) {
      this.atlas = new THREE.Texture(sprites.image);
      this.atlas.colorSpace = THREE.NoColorSpace; // sampled as stored, written as given
      this.atlas.flipY = true;
      this.atlas.needsUpdate = true;
    }
    this.rebuild();
  }

  setBackground(color: string): void {
    this.background = color;
    this.request();
  }

  /** Reset zoom to fit every point. */
  resetView(): void {
    // The points fill [-1, 1] along their longest axis: fit that in the shorter side.
    const aspect = this.width / this.height;
    this.ortho.zoom = 0.85 * Math.min(1, aspect);
    this.ortho.position.set(0, 0, 10);
    this.ortho.up.set(0, 1, 0);
    this.ortho.updateProjectionMatrix();
    const distance = 1.9 / Math.tan((this.persp.fov * Math.PI) / 360) / Math.min(1, aspect);
    this.persp.position.set(0.45, 0.35, 0.82).normalize().multiplyScalar(distance);
    this.persp.up.set(0, 1, 0);
    this.controls.target.set(0, 0, 0);
    this.controls.update();
    this.request();
  }

  private material(size: number, ring: [number, number, number], ringWidth: number, opacity: number): THREE.ShaderMaterial {
    const sprites = this.sprites;
    return new THREE.ShaderMaterial({
      vertexShader: VERTEX,
      fragmentShader: FRAGMENT,
      transparent: opacity < 1,
      depthTest: this.dims === 3,
      uniforms: {
        pointSize: { value: size * this.renderer.getPixelRatio() },
        perspective: { value: this.dims === 3 ? 1 : 0 },
        atlas: { value: this.atlas },
        useSprites: { value: sprites && this.atlas ? 1 : 0 },
        grid: { value: new THREE.Vector2(sprites?.columns ?? 1, sprites?.rows ?? 1) },
        ring: { value: new THREE.Color(...ring) },
        ringWidth: { value: ringWidth },
        opacity: { value: opacity },
      },
    });
  }

  private cloud(indices: number[], size: number, ring: [number, number, number], ringWidth: number, opacity: number, dim: number): THREE.Points {
    const geometry = new THREE.BufferGeometry();
    const position = new Float32Array(indices.length * 3);
    const color = new Float32Array(indices.length * 3);
    const sprite = new Float32Array(indices.length);
    const back = this.backgroundRgb();
    indices.forEach((index, k) => {
      position.set(this.positions.subarray(index * 3, index * 3 + 3), k * 3);
      const c = this.colors.subarray(index * 3, index * 3 + 3);
      // Dimmed: mixed with the background, so highlighted points stand out.
      for (let d = 0; d < 3; d++) color[k * 3 + d] = dim > 0 ? c[d]! * (1 - dim) + back[d]! * dim : c[d] ?? 0.5;
      sprite[k] = index;
    });
    geometry.setAttribute('position', new THREE.BufferAttribute(position, 3));
    geometry.setAttribute('color', new THREE.BufferAttribute(color, 3));
    geometry.setAttribute('sprite', new THREE.BufferAttribute(sprite, 1));
    geometry.boundingSphere = new THREE.Sphere(new THREE.Vector3(), 2);
    const points = new THREE.Points(geometry, this.material(size, ring, ringWidth, opacity));
    points.frustumCulled = false;
    return points;
  }

  private backgroundRgb(): [number, number, number] {
    // In sRGB, as the point colours are (the shader writes them as given).
    const c = { r: 1, g: 1, b: 1 };
    new THREE.Color(this.background).getRGB(c, THREE.SRGBColorSpace);
    return [c.r, c.g, c.b];
  }

  private pointSize(): number {
    const n = Math.max(1, this.visible.length);
    const base = n > 50_000 ? 3 : n > 10_000 ? 4 : n > 1000 ? 6 : 8;
    return this.sprites ? base * 3 : base;
  }

  private rebuild(): void {
    if (this.base) {
      this.scene.remove(this.base);
      disposePoints(this.base);
      this.base = null;
    }
    const n = this.positions.length / 3;
    if (this.visible.length > n || this.visible.some((i) => i >= n)) this.visible = Array.from({ length: n }, (_, i) => i);
    if (this.visible.length === 0 && n > 0 && !this.isolated) this.visible = Array.from({ length: n }, (_, i) => i);
    if (this.colors.length < n * 3) {
      const grown = new Float32Array(n * 3).fill(0.4);
      grown.set(this.colors.subarray(0, Math.min(this.colors.length, n * 3)));
      this.colors = grown;
    }
    const dim = this.highlight.indices.length ? 0.6 : 0;
    this.base = this.cloud(this.visible, this.pointSize(), [0, 0, 0], 0, 1, this.sprites ? 0 : dim);
    this.scene.add(this.base);
    this.screen = null;
    this.rebuildTop();
    this.request();
  }

  private isolated = false;

  /** Marks that an empty `visible` is meant (isolating nothing shows nothing). */
  setIsolated(isolated: boolean): void {
    this.isolated = isolated;
  }

  private rebuildTop(): void {
    if (this.top) {
      this.scene.remove(this.top);
      disposePoints(this.top);
      this.top = null;
    }
    const n = this.positions.length / 3;
    const shown = new Set(this.visible);
    const indices = this.highlight.indices.filter((i) => i < n && shown.has(i));
    if (indices.length) {
      this.top = this.cloud(indices, this.pointSize() * 1.8, this.highlight.ring, 0.14, 1, 0);
      this.top.renderOrder = 1;
      this.scene.add(this.top);
    }
    // The base cloud's dimming depends on whether anything is highlighted.
    if (this.base && (this.highlight.indices.length > 0) !== this.baseDimmed) {
      this.baseDimmed = this.highlight.indices.length > 0;
      this.scene.remove(this.base);
      disposePoints(this.base);
      this.base = this.cloud(this.visible, this.pointSize(), [0, 0, 0], 0, 1, this.baseDimmed && !this.sprites ? 0.6 : 0);
      this.scene.add(this.base);
    }
  }

  private baseDimmed = false;

  private resize(): void {
    const rect = this.host.getBoundingClientRect();
    this.width = Math.max(1, Math.floor(rect.width));
    this.height = Math.max(1, Math.floor(rect.height));
    this.renderer.setSize(this.width, this.height, false);
    this.canvas.style.width = `${this.width}px`;
    this.canvas.style.height = `${this.height}px`;
    const aspect = this.width / this.height;
    this.ortho.left = -aspect;
    this.ortho.right = aspect;
    this.ortho.top = 1;
    this.ortho.bottom = -1;
    this.ortho.updateProjectionMatrix();
    this.persp.aspect = aspect;
    this.persp.updateProjectionMatrix();
    this.request();
  }

  private request(): void {
    if (this.disposed || this.framePending) return;
    this.framePending = true;
    scheduleFrame(this, () => {
      this.framePending = false;
      this.render();
    });
  }

  private onCameraChange = () => {
    this.screen = null;
    this.request();
  };

  private render(): void {
    if (this.disposed) return;
    this.renderer.setClearColor(new THREE.Color(this.background), 1);
    this.renderer.render(this.scene, this.camera);
    this.renders++;
    this.host.dataset.renders = String(this.renders);
    this.screen = null;
    this.drawLabels();
  }

  /** Every point's position on screen (CSS pixels), computed once per camera / data change. */
  private screenPositions(): Float32Array {
    if (this.screen) return this.screen;
    const n = this.positions.length / 3;
    const out = new Float32Array(n * 2).fill(NaN);
    const camera = this.camera;
    camera.updateMatrixWorld();
    const m = new THREE.Matrix4().multiplyMatrices(camera.projectionMatrix, camera.matrixWorldInverse).elements;
    const p = this.positions;
    for (const i of this.visible) {
      const x = p[i * 3]!, y = p[i * 3 + 1]!, z = p[i * 3 + 2]!;
      const w = m[3]! * x + m[7]! * y + m[11]! * z + m[15]!;
      if (w <= 0) continue;
      const cx = (m[0]! * x + m[4]! * y + m[8]! * z + m[12]!) / w;
      const cy = (m[1]! * x + m[5]! * y + m[9]! * z + m[13]!) / w;
      out[i * 2] = ((cx + 1) / 2) * this.width;
      out[i * 2 + 1] = ((1 - cy) / 2) * this.height;
    }
    this.screen = out;
    return out;
  }

  /** The point under (x, y) in CSS pixels of the host, within a few pixels; null if none. */
  pick(x: number, y: number): number | null {
    const screen = this.screenPositions();
    const radius = Math.max(6, this.pointSize() / 2 + 2);
    let best: number | null = null;
    let bestD = radius * radius;
    for (const i of this.visible) {
      const dx = screen[i * 2]! - x;
      const dy = screen[i * 2 + 1]! - y;
      const d = dx * dx + dy * dy;
      if (d <= bestD) {
        bestD = d;
        best = i;
      }
    }
    return best;
  }

  /** Screen position of point i (CSS pixels of the host), for tests and labels. */
  screenOf(i: number): [number, number] | null {
    const s = this.screenPositions();
    const x = s[i * 2]!;
    const y = s[i * 2 + 1]!;
    return Number.isFinite(x) && Number.isFinite(y) ? [x, y] : null;
  }

  private drawLabels(): void {
    const layer = this.labelLayer;
    layer.replaceChildren();
    for (const label of this.labels.slice(0, 200)) {
      const at = this.screenOf(label.index);
      if (!at || at[0] < 0 || at[1] < 0 || at[0] > this.width || at[1] > this.height) continue;
      const div = document.createElement('div');
      div.className = label.strong ? 'projector__label projector__label--strong' : 'projector__label';
      div.textContent = label.text;
      div.style.transform = `translate(${Math.round(at[0] + 6)}px, ${Math.round(at[1] - 8)}px)`;
      layer.appendChild(div);
    }
  }

  private local(event: PointerEvent): { x: number; y: number } {
    const rect = this.host.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  }

  private onPointerDown = (event: PointerEvent) => {
    if (event.button !== 0) return;
    const at = this.local(event);
    if (event.shiftKey) {
      // Box selection: the controls never see this drag.
      event.stopPropagation();
      event.preventDefault();
      this.dragStart = at;
      this.host.setPointerCapture?.(event.pointerId);
      this.drawBox(at, at);
      return;
    }
    this.downAt = at;
  };

  private onPointerMove = (event: PointerEvent) => {
    const at = this.local(event);
    if (this.dragStart) {
      this.drawBox(this.dragStart, at);
      return;
    }
    if (event.buttons === 0) this.callbacks.onHover(this.pick(at.x, at.y));
  };

  private onPointerUp = (event: PointerEvent) => {
    const at = this.local(event);
    if (this.dragStart) {
      const start = this.dragStart;
      this.dragStart = null;
      this.box.hidden = true;
      const x0 = Math.min(start.x, at.x), x1 = Math.max(start.x, at.x);
      const y0 = Math.min(start.y, at.y), y1 = Math.max(start.y, at.y);
      const screen = this.screenPositions();
      const inside = this.visible.filter((i) => {
        const x = screen[i * 2]!, y = screen[i * 2 + 1]!;
        return x >= x0 && x <= x1 && y >= y0 && y <= y1;
      });
      this.callbacks.onBox(inside);
      return;
    }
    // A click (not a drag that panned or orbited) selects the point under it, or clears.
    if (this.downAt && Math.hypot(at.x - this.downAt.x, at.y - this.downAt.y) < 4) {
      this.callbacks.onClick(this.pick(at.x, at.y));
    }
    this.downAt = null;
  };

  private onPointerLeave = () => {
    if (!this.dragStart) this.callbacks.onHover(null);
  };

  private drawBox(a: { x: number; y: number }, b: { x: number; y: number }): void {
    this.box.hidden = false;
    this.box.style.left = `${Math.min(a.x, b.x)}px`;
    this.box.style.top = `${Math.min(a.y, b.y)}px`;
    this.box.style.width = `${Math.abs(a.x - b.x)}px`;
    this.box.style.height = `${Math.abs(a.y - b.y)}px`;
  }

  private onContextLost = (event: Event) => {
    event.preventDefault();
    this.callbacks.onLost();
  };

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    cancelFrame(this);
    this.resizeObserver.disconnect();
    this.controls.dispose();
    this.host.removeEventListener('pointerdown', this.onPointerDown, { capture: true });
    this.host.removeEventListener('pointermove', this.onPointerMove);
    this.host.removeEventListener('pointerup', this.onPointerUp);
    this.host.removeEventListener('pointerleave', this.onPointerLeave);
    this.canvas.removeEventListener('webglcontextlost', this.onContextLost);
    for (const points of [this.base, this.top]) if (points) disposePoints(points);
    this.atlas?.dispose();
    this.renderer.dispose();
    this.renderer.forceContextLoss();
    this.canvas.remove();
    this.labelLayer.remove();
    this.box.remove();
  }
}

function disposePoints(points: THREE.Points): void {
  points.geometry.dispose();
  (points.material as THREE.Material).dispose();
}
