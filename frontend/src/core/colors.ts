/**
 * One colour per run, the same in every dashboard and after every reload: the run name hashed
 * into a palette, moved to the next free palette slot when an earlier run (in the server's stable
 * run order) already holds it, unless the user picked a colour, which is kept in localStorage.
 */
import { compileRegex } from './regex';
import { Store } from './store';

/**
 * Mid-luminance colours (CIELAB L* 48-70, so lines read on the white and the dark panel alike),
 * chosen by a max-min search so that any two are at least 21.9 apart in CIEDE2000 (see
 * ciede2000.ts): the runs on screen take distinct slots, so any 10 of them stay told apart. Twelve
 * is about as many as that distance allows at this lightness; later runs share by hash.
 */
export const PALETTE: readonly string[] = [
  '#2d69f0', '#ff782d', '#e10f4b', '#2dc34b', '#c33cb4', '#00b4a5', '#d2a500', '#b496ff',
  '#96693c', '#00b4ff', '#e196a5', '#78871e',
];

/** 32-bit FNV-1a of the UTF-16 code units: fast, and stable across browsers and sessions. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function defaultColor(name: string): string {
  return PALETTE[hashString(name) % PALETTE.length]!;
}

const STORAGE_KEY = 'lumiboard.runColors';
const HEX = /^#[0-9a-f]{6}$/i;

export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export function loadOverrides(storage: StorageLike | null): Record<string, string> {
  if (!storage) return {};
  try {
    const parsed: unknown = JSON.parse(storage.getItem(STORAGE_KEY) ?? '{}');
    if (!parsed || typeof parsed !== 'object') return {};
    const out: Record<string, string> = {};
    for (const [run, color] of Object.entries(parsed)) {
      if (typeof color === 'string' && HEX.test(color)) out[run] = color;
    }
    return out;
  } catch {
    return {};
  }
}

/**
 * Palette colours for `runs`, given in the server's order (first event time, then name): each run
 * takes its hashed slot, or the next free one if an earlier run holds it, so the runs on screen
 * rarely share a colour. A run keeps its colour when later runs appear (they are assigned after
 * it); once every slot is taken, runs share by hash.
 */
export function assignColors(runs: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const taken = new Set<number>();
  for (const run of runs) {
    if (out.has(run)) continue;
    let slot = hashString(run) % PALETTE.length;
    if (taken.size < PALETTE.length) {
      while (taken.has(slot)) slot = (slot + 1) % PALETTE.length;
      taken.add(slot);
    }
    out.set(run, PALETTE[slot]!);
  }
  return out;
}

const COLOR_BY_KEY = 'lumiboard.colorBy';

/**
 * The colour key of a run under "colour by regex" (TensorBoard's Time Series "Color runs by
 * regex"): runs the regex matches with the same capture groups (or, without groups, the same
 * matched text) share a colour; a run it does not match keeps its own.
 */
export function colorKey(run: string, regex: RegExp | null): string {
  if (!regex) return run;
  const match = regex.exec(run);
  if (!match) return run;
  const key = match.length > 1 ? match.slice(1).map((g) => g ?? '').join('\u0000') : match[0];
  return `\u0001${key}`;
}

/** Palette colours for `runs` when runs with the same `colorKey` share one. */
export function assignColorsBy(runs: readonly string[], regex: RegExp | null): Map<string, string> {
  const keys = runs.map((run) => colorKey(run, regex));
  const byKey = assignColors(keys);
  return new Map(runs.map((run, i) => [run, byKey.get(keys[i]!)!]));
}

/** Run colours with the user's choices; subscribe through `store` (its `version` changes). */
export class RunColors {
  readonly store: Store<{ version: number }>;
  private overrides: Record<string, string>;
  private assigned = new Map<string, string>();
  private assignedFor = '';
  private runs: readonly string[] = [];
  private colorBy: RegExp | null = null;
  /** The "colour by regex" pattern ('' for none). */
  colorByPattern = '';

  constructor(private storage: StorageLike | null) {
    this.overrides = loadOverrides(storage);
    this.store = new Store({ version: 0 });
    let pattern = '';
    try {
      pattern = storage?.getItem(COLOR_BY_KEY) ?? '';
    } catch {
      pattern = '';
    }
    this.applyColorBy(pattern);
  }

  private applyColorBy(pattern: string): boolean {
    const regex = pattern ? compileRegex(pattern) : null;
    if (typeof regex === 'string') return false; // invalid, or too slow to match
    this.colorBy = regex;
    this.colorByPattern = pattern;
    return true;
  }

  /**
   * Colour runs by a regex ('' to stop): runs with the same capture groups share a colour.
   * Returns false (and changes nothing) for an invalid regex.
   */
  setColorBy(pattern: string): boolean {
    if (pattern === this.colorByPattern) return true;
    if (!this.applyColorBy(pattern)) return false;
    this.assignedFor = '';
    this.setRuns(this.runs);
    // Stored only once it has run over every run name: a regex that hangs the page (catastrophic
    // backtracking) is then not brought back by the next visit.
    try {
      this.storage?.setItem(COLOR_BY_KEY, pattern);
    } catch {
      // storage full or disabled: it still applies for this session
    }
    this.store.set({ version: this.store.get().version + 1 });
    return true;
  }

  get(run: string): string {
    return this.overrides[run] ?? this.assigned.get(run) ?? defaultColor(run);
  }

  /** The default colour of a run (its palette slot), whatever the user picked. */
  defaultOf(run: string): string {
    return this.assigned.get(run) ?? defaultColor(run);
  }

  /** Assign palette slots to the log directory's runs (see `assignColors`). */
  setRuns(runs: readonly string[]): void {
    this.runs = runs;
    const key = runs.join('\u0000');
    if (key === this.assignedFor) return;
    this.assignedFor = key;
    const next = assignColorsBy(runs, this.colorBy);
    const changed = runs.some((run) => next.get(run) !== this.assigned.get(run));
    this.assigned = next;
    if (changed) this.store.set({ version: this.store.get().version + 1 });
  }

  isCustom(run: string): boolean {
    return run in this.overrides;
  }

  set(run: string, color: string | null): void {
    if (color === null || color.toLowerCase() === this.defaultOf(run)) delete this.overrides[run];
    else this.overrides[run] = color.toLowerCase();
    try {
      this.storage?.setItem(STORAGE_KEY, JSON.stringify(this.overrides));
    } catch {
      // storage full or disabled: the colour still applies for this session
    }
    this.store.set({ version: this.store.get().version + 1 });
  }
}

/** `#rrggbb` with an alpha, for faded lines and bands. */
export function withAlpha(hex: string, alpha: number): string {
  const value = parseInt(hex.slice(1), 16);
  return `rgba(${(value >> 16) & 255}, ${(value >> 8) & 255}, ${value & 255}, ${alpha})`;
}
