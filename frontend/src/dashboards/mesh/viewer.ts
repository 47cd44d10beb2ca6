/**
 * One card's three.js view: a point cloud (THREE.Points) or a triangle mesh (indexed
 * BufferGeometry, computed normals, lights), orbit / zoom / pan with OrbitControls.
 *
 * It renders on demand, never in a loop: a camera move, new data, a resize or a theme change
 * asks for one frame (`core/frame` batches them). Each new step's geometry and material are
 * disposed when replaced, and everything (context included) when the card goes away.
 *
 * A card holds a WebGL context only while it is on screen, and at most `MAX_LIVE_VIEWS` cards
 * hold one at all (browsers allow a page ~16 and silently drop the oldest past that): a card
 * that goes off screen, or whose context the pool gives to another, frees it and keeps its
 * scene and camera; it makes a new context and draws again when it next needs a frame.
 */
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';

import { cancelFrame, scheduleFrame } from '../../core/frame';
import {
  boundingBox,
  boxCenter,
  boxRadius,
  defaultPointSize,
  fitCamera,
  ContextPool,
  type Box,
  type ContextHolder,
  type SceneConfig,
  type Vec3,
} from './model';

/** One step's geometry, decoded (see `model.ts`). */
export interface MeshData {
  positions: Float32Array;
  /** Triangle vertex indices; null draws a point cloud. */
  index: Uint32Array | null;
  /** Linear RGB per vertex; null uses the material colour (the run's colour by default). */
  colors: Float32Array | null;
}

/** A camera viewpoint as cards share it. */
export interface ViewState {
  position: Vec3;
  target: Vec3;
}

let webglChecked: boolean | null = null;

/** Whether this browser can create a WebGL context (checked once, the probe context freed). */
export function webglAvailable(): boolean {
  if (webglChecked === null) {
    try {
      const canvas = document.createElement('canvas');
      const gl = canvas.getContext('webgl2') ?? canvas.getContext('webgl');
      webglChecked = gl !== null;
      gl?.getExtension('WEBGL_lose_context')?.loseContext();
    } catch {
      webglChecked = false;
    }
  }
  return webglChecked;
}

/**
 * TensorBoard's light intensities are in the legacy units of its older three.js, where lights
 * were π times brighter; scaled so a config looks the same here.
 */
const LEGACY_LIGHT_SCALE = Math.PI;

/** At most this many cards hold a WebGL context at once (Chrome drops the oldest past ~16). */
export const MAX_LIVE_VIEWS = 8;

const sharedPool = new ContextPool<MeshViewer>(MAX_LIVE_VIEWS);

/** Context losses in a row (not counting ours) before a card stops retrying and asks for a click. */
const MAX_RETRIES = 2;

/** Where a view's WebGL context is, as `data-gl` on its host (tests count the live ones). */
export type GlState = 'none' | 'live' | 'released' | 'lost';

export class MeshViewer implements ContextHolder {
  /** Called after the user moves the camera (not after `applyView`). */
  onViewChange: ((view: ViewState) => void) | null = null;
  /** Called when the context was lost and not made again (the card offers a redraw). */
  onLost: ((lost: boolean) => void) | null = null;
  /**
   * On (or near) the screen: only then does the view hold a context and draw. Off-screen, the
   * context is given back; the scene, its geometry and the camera stay, for when it comes back.
   */
  onScreen = false;
  private gl: { renderer: THREE.WebGLRenderer; canvas: HTMLCanvasElement } | null = null;
  /** The last frame, shown while the context is released on screen (the pool took it). */
  private snapshot: HTMLCanvasElement | null = null;
  private camera = new THREE.PerspectiveCamera(75, 1, 0.1, 1000);
  private controls: OrbitControls;
  private scene = new THREE.Scene();
  private object: THREE.Points | THREE.Mesh | null = null;
  private lights: THREE.Light[] = [];
  private box: Box | null = null;
  private config: SceneConfig | null = null;
  private silent = false;
  private renders = 0;
  private losses = 0;
  private width = 1;
  private height = 1;
  private resizeObserver: ResizeObserver;
  private disposed = false;

  constructor(
    private host: HTMLElement,
    private pool: ContextPool<MeshViewer> = sharedPool,
  ) {
    // The controls listen on the host, so they outlive the canvases made and freed in it.
    this.controls = new OrbitControls(this.camera, host);
    this.controls.addEventListener('change', this.onControlsChange);
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(host);
    this.setGlState('none');
    this.resize();
  }

  /** The canvas drawn in now (null while the context is released). */
  get canvas(): HTMLCanvasElement | null {
    return this.gl?.canvas ?? null;
  }

  /** Whether this view holds a WebGL context now. */
  get live(): boolean {
    return this.gl !== null;
  }

  /** The card came on screen (draws, making a context) or left it (gives the context back). */
  setOnScreen(onScreen: boolean): void {
    if (this.disposed || onScreen === this.onScreen) return;
    this.onScreen = onScreen;
    if (onScreen) {
      this.redraw();
    } else {
      this.pool.forget(this);
      this.freeContext(false);
      this.clearSnapshot();
    }
  }

  /** The pool needs this view's context for another: keep the last frame as a picture. */
  release(): void {
    this.freeContext(this.onScreen);
  }

  /** Draw again, making a context if needed ("Redraw" after a lost context: try again). */
  redraw(): void {
    this.losses = 0;
    if (!this.gl) this.setGlState('released');
    this.onLost?.(false);
    this.requestRender();
  }

  /** Show one step. `fit` moves the camera to show it whole (first data, or "reset view"). */
  setScene(data: MeshData, config: SceneConfig, fallbackColor: string, fit: boolean): void {
    this.clearObject();
    for (const light of this.lights) this.scene.remove(light);
    this.lights = [];
    this.config = config;
    const box = boundingBox(data.positions);
    this.box = box;

    const geometry = new THREE.BufferGeometry();
    geometry.setAttribute('position', new THREE.BufferAttribute(data.positions, 3));
    if (data.colors) geometry.setAttribute('color', new THREE.BufferAttribute(data.colors, 3));
    // Bounds from the finite vertices: three's own would be NaN with a non-finite vertex.
    const center = new THREE.Vector3(...boxCenter(box));
    geometry.boundingBox = new THREE.Box3(new THREE.Vector3(...box.min), new THREE.Vector3(...box.max));
    geometry.boundingSphere = new THREE.Sphere(center, boxRadius(box));

    const material = config.material;
    const vertexColors = data.colors !== null;
    // With vertex colours the material colour multiplies them: white unless the config says.
    const base = new THREE.Color(material.color ?? (vertexColors ? '#ffffff' : fallbackColor));
    const opacity = material.opacity ?? 1;
    if (data.index) {
      geometry.setIndex(new THREE.BufferAttribute(data.index, 1));
      geometry.computeVertexNormals();
      this.object = new THREE.Mesh(
        geometry,
        new THREE.MeshStandardMaterial({
          color: base,
          vertexColors,
          roughness: material.roughness ?? 1,
          metalness: material.metalness ?? 0,
          wireframe: material.wireframe,
          flatShading: material.flatShading,
          side: THREE.DoubleSide,
          transparent: opacity < 1,
          opacity,
        }),
      );
      for (const light of config.lights) this.lights.push(makeLight(light.cls, light.color, light.intensity, light.position));
      for (const light of this.lights) this.scene.add(light);
    } else {
      this.object = new THREE.Points(
        geometry,
        new THREE.PointsMaterial({
          color: base,
          vertexColors,
          size: material.size ?? defaultPointSize(box),
          sizeAttenuation: material.sizeAttenuation,
          transparent: opacity < 1,
          opacity,
        }),
      );
    }
    this.scene.add(this.object);
    if (fit) this.resetView();
    else this.updateClipping();
    this.requestRender();
  }

  /** The camera that shows the whole object (the config's camera when it places one). */
  resetView(): void {
    if (!this.box || !this.config) return;
    const view = fitCamera(this.box, this.config.camera, this.aspect());
    this.camera.fov = this.config.camera.fov;
    this.camera.near = view.near;
    this.camera.far = view.far;
    this.camera.updateProjectionMatrix();
    this.setView({ position: view.position, target: view.target });
    this.requestRender();
  }

  /** The current viewpoint. */
  view(): ViewState {
    const p = this.camera.position;
    const t = this.controls.target;
    return { position: [p.x, p.y, p.z], target: [t.x, t.y, t.z] };
  }

  /** Move the camera to another card's viewpoint (does not call `onViewChange`). */
  applyView(view: ViewState): void {
    this.setView(view);
    this.updateClipping();
    this.requestRender();
  }

  /** How many frames were drawn (tests wait on it; exposed as `data-renders` on the host). */
  get renderCount(): number {
    return this.renders;
  }

  requestRender(): void {
    if (!this.disposed) scheduleFrame(this, this.render);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    cancelFrame(this);
    this.pool.forget(this);
    this.resizeObserver.disconnect();
    this.controls.removeEventListener('change', this.onControlsChange);
    this.controls.dispose();
    this.clearObject();
    this.freeContext(false);
    this.clearSnapshot();
  }

  /** Make the context and its canvas (releasing the least recently drawn view's past the cap). */
  private makeContext(): boolean {
    this.pool.use(this);
    const canvas = document.createElement('canvas');
    canvas.dataset.testid = 'mesh-canvas';
    canvas.addEventListener('webglcontextlost', this.onContextLost);
    try {
      const renderer = new THREE.WebGLRenderer({ canvas, antialias: true });
      renderer.setPixelRatio(window.devicePixelRatio || 1);
      renderer.setSize(this.width, this.height, false);
      this.gl = { renderer, canvas };
    } catch {
      this.pool.forget(this);
      this.contextLost();
      return false;
    }
    this.host.appendChild(canvas);
    this.setGlState('live');
    return true;
  }

  /** Free the context now: browsers cap how many a page may hold. */
  private freeContext(keepPicture: boolean): void {
    const gl = this.gl;
    if (!gl) return;
    this.gl = null;
    gl.canvas.removeEventListener('webglcontextlost', this.onContextLost);
    if (keepPicture && this.renders > 0) this.takeSnapshot(gl);
    gl.renderer.dispose();
    gl.renderer.forceContextLoss();
    gl.canvas.remove();
    this.setGlState('released');
  }

  /** The frame as a 2D picture: drawn again now, since the drawing buffer is not kept. */
  private takeSnapshot(gl: { renderer: THREE.WebGLRenderer; canvas: HTMLCanvasElement }): void {
    try {
      gl.renderer.render(this.scene, this.camera);
      const picture = this.snapshot ?? document.createElement('canvas');
      picture.width = gl.canvas.width;
      picture.height = gl.canvas.height;
      picture.dataset.testid = 'mesh-snapshot';
      picture.getContext('2d')?.drawImage(gl.canvas, 0, 0);
      picture.hidden = false;
      if (!this.snapshot) this.host.prepend(picture);
      this.snapshot = picture;
    } catch {
      this.clearSnapshot();
    }
  }

  private clearSnapshot(): void {
    this.snapshot?.remove();
    this.snapshot = null;
  }

  /** The browser took the context (too many on the page, GPU reset): make it again, or ask. */
  private onContextLost = (event: Event): void => {
    event.preventDefault();
    const gl = this.gl;
    if (!gl || event.target !== gl.canvas) return;
    this.gl = null;
    gl.canvas.removeEventListener('webglcontextlost', this.onContextLost);
    gl.renderer.dispose();
    gl.canvas.remove();
    this.pool.forget(this);
    this.contextLost();
  };

  private contextLost(): void {
    this.losses++;
    if (this.onScreen && this.losses <= MAX_RETRIES) {
      this.setGlState('released');
      this.requestRender();
    } else {
      this.setGlState('lost');
      this.onLost?.(true);
    }
  }

  private setGlState(state: GlState): void {
    this.host.dataset.gl = state;
  }

  private setView(view: ViewState): void {
    this.silent = true;
    this.camera.position.set(...view.position);
    this.controls.target.set(...view.target);
    this.controls.update();
    this.silent = false;
  }

  /** Keep the object between the near and far planes when the camera moved far from it. */
  private updateClipping(): void {
    if (!this.box || !this.config || this.config.camera.near !== null || this.config.camera.far !== null) return;
    const radius = boxRadius(this.box);
    const reach = this.camera.position.distanceTo(new THREE.Vector3(...boxCenter(this.box))) + radius;
    this.camera.near = Math.max(reach / 1000, 1e-6);
    this.camera.far = reach * 20;
    this.camera.updateProjectionMatrix();
  }

  private onControlsChange = (): void => {
    this.updateClipping();
    this.requestRender();
    if (!this.silent) this.onViewChange?.(this.view());
  };

  private aspect(): number {
    const width = this.host.clientWidth;
    const height = this.host.clientHeight;
    return width > 0 && height > 0 ? width / height : 1;
  }

  private resize(): void {
    const width = Math.max(1, this.host.clientWidth);
    const height = Math.max(1, this.host.clientHeight);
    this.width = width;
    this.height = height;
    this.gl?.renderer.setSize(width, height, false);
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
    this.requestRender();
  }

  private render = (): void => {
    // Off screen nothing is drawn: coming back asks for a frame.
    if (this.disposed || !this.onScreen || this.host.dataset.gl === 'lost') return;
    if (!this.gl && !this.makeContext()) return;
    const gl = this.gl;
    if (!gl) return;
    // The card's background (a CSS variable), read at draw time so dark mode applies at once.
    const background = getComputedStyle(this.host).getPropertyValue('--mesh-bg').trim();
    this.scene.background = new THREE.Color(background || '#ffffff');
    gl.renderer.render(this.scene, this.camera);
    this.pool.use(this);
    if (this.snapshot) this.snapshot.hidden = true;
    this.renders++;
    this.host.dataset.renders = String(this.renders);
  };

  private clearObject(): void {
    if (!this.object) return;
    this.scene.remove(this.object);
    this.object.geometry.dispose();
    const material = this.object.material;
    for (const item of Array.isArray(material) ? material : [material]) item.dispose();
    this.object = null;
  }
}

function makeLight(kind: string, color: string, intensity: number, position: Vec3 | null): THREE.Light {
  const scaled = intensity * LEGACY_LIGHT_SCALE;
  let light: THREE.Light;
  switch (kind) {
    case 'DirectionalLight':
      light = new THREE.DirectionalLight(color, scaled);
      break;
    case 'PointLight':
      light = new THREE.PointLight(color, scaled, 0, 0);
      break;
    case 'HemisphereLight':
      light = new THREE.HemisphereLight(color, '#444444', scaled);
      break;
    default:
      light = new THREE.AmbientLight(color, scaled);
  }
  if (position) light.position.set(...position);
  return light;
}

/**
 * "Share viewpoint": cards publish their camera when the user moves it, the others follow. The
 * last viewpoint is kept, so a card that appears later (next page, new run) starts there.
 */
export class ViewBus {
  private listeners = new Map<object, (view: ViewState) => void>();
  last: ViewState | null = null;

  publish(from: object, view: ViewState): void {
    this.last = view;
    for (const [who, listener] of this.listeners) if (who !== from) listener(view);
  }

  subscribe(who: object, listener: (view: ViewState) => void): () => void {
    this.listeners.set(who, listener);
    return () => this.listeners.delete(who);
  }
}
