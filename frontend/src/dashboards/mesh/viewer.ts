/**
 * One card's three.js view: a point cloud (THREE.Points) or a triangle mesh (indexed
 * BufferGeometry, computed normals, lights), orbit / zoom / pan with OrbitControls.
 *
 * It renders on demand, never in a loop: a camera move, new data, a resize or a theme change
 * asks for one frame (`core/frame` batches them). Each new step's geometry and material are
 * disposed when replaced, and everything (context included) when the card goes away.
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
  type Box,
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

export class MeshViewer {
  readonly canvas: HTMLCanvasElement;
  /** Called after the user moves the camera (not after `applyView`). */
  onViewChange: ((view: ViewState) => void) | null = null;
  private renderer: THREE.WebGLRenderer;
  private camera = new THREE.PerspectiveCamera(75, 1, 0.1, 1000);
  private controls: OrbitControls;
  private scene = new THREE.Scene();
  private object: THREE.Points | THREE.Mesh | null = null;
  private lights: THREE.Light[] = [];
  private box: Box | null = null;
  private config: SceneConfig | null = null;
  private silent = false;
  private renders = 0;
  private resizeObserver: ResizeObserver;
  private disposed = false;

  constructor(private host: HTMLElement) {
    this.canvas = document.createElement('canvas');
    this.canvas.dataset.testid = 'mesh-canvas';
    host.appendChild(this.canvas);
    this.renderer = new THREE.WebGLRenderer({ canvas: this.canvas, antialias: true });
    this.renderer.setPixelRatio(window.devicePixelRatio || 1);
    this.controls = new OrbitControls(this.camera, this.canvas);
    this.controls.addEventListener('change', this.onControlsChange);
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(host);
    this.resize();
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
    this.resizeObserver.disconnect();
    this.controls.removeEventListener('change', this.onControlsChange);
    this.controls.dispose();
    this.clearObject();
    this.renderer.dispose();
    // Free the WebGL context now: browsers cap how many a page may hold.
    this.renderer.forceContextLoss();
    this.canvas.remove();
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
    this.renderer.setSize(width, height, false);
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
    this.requestRender();
  }

  private render = (): void => {
    if (this.disposed) return;
    // The card's background (a CSS variable), read at draw time so dark mode applies at once.
    const background = getComputedStyle(this.host).getPropertyValue('--mesh-bg').trim();
    this.scene.background = new THREE.Color(background || '#ffffff');
    this.renderer.render(this.scene, this.camera);
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
