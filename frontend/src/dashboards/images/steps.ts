/** Pure helpers of the media dashboards (images, audio): steps, samples and what a card shows. */

/** One kept step of a blob series, as the `/images` and `/audio` listings give it. */
export interface StepEntry {
  step: number;
  wall_time: number;
  query: string;
}

/** `entries` by step (the listing is in arrival order; a restarted run can go back). */
export function sortByStep<T extends StepEntry>(entries: readonly T[]): T[] {
  return [...entries].sort((a, b) => a.step - b.step || a.wall_time - b.wall_time);
}

/**
 * The index of the last recorded step at or below `target` in ascending `steps`; the first one
 * when every step is above it; -1 when there are none.
 */
export function indexAtOrBelow(steps: readonly number[], target: number): number {
  if (!steps.length) return -1;
  let low = 0;
  let high = steps.length - 1;
  if (target < steps[0]!) return 0;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (steps[mid]! <= target) low = mid;
    else high = mid - 1;
  }
  return low;
}

/**
 * The index a card shows: `selected` is the step the user picked (null: follow the newest, so
 * a step written later shows up without a click).
 */
export function shownIndex(steps: readonly number[], selected: number | null): number {
  if (!steps.length) return -1;
  return selected === null ? steps.length - 1 : indexAtOrBelow(steps, selected);
}

/** The sorted union of several cards' steps (the global step slider's stops). */
export function unionSteps(lists: Iterable<readonly number[]>): number[] {
  const all = new Set<number>();
  for (const list of lists) for (const step of list) all.add(step);
  return [...all].sort((a, b) => a - b);
}

/** A sample index kept in `[0, samples)`. */
export function clampSample(sample: number, samples: number): number {
  if (!Number.isFinite(sample)) return 0;
  return Math.min(Math.max(0, Math.floor(sample)), Math.max(0, samples - 1));
}

/** The CSS filter of the brightness and contrast sliders (1 = unchanged). */
export function imageFilter(brightness: number, contrast: number): string | undefined {
  if (brightness === 1 && contrast === 1) return undefined;
  return `brightness(${brightness}) contrast(${contrast})`;
}

/** What the audio card says about a clip: `16 kHz · mono · 16-bit · 2.50 s`. */
export function describeClip(clip: {
  sampleRate: number | null;
  channels: number | null;
  bitsPerSample: number | null;
  duration: number | null;
}): string {
  const parts: string[] = [];
  if (clip.sampleRate !== null) {
    const khz = clip.sampleRate / 1000;
    parts.push(`${Number.isInteger(khz) ? khz : Number(khz.toFixed(3))} kHz`);
  }
  if (clip.channels !== null) {
    parts.push(clip.channels === 1 ? 'mono' : clip.channels === 2 ? 'stereo' : `${clip.channels} channels`);
  }
  if (clip.bitsPerSample !== null) parts.push(`${clip.bitsPerSample}-bit`);
  if (clip.duration !== null) parts.push(formatClipDuration(clip.duration));
  return parts.join(' · ');
}

export function formatClipDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  if (seconds < 60) return `${seconds.toFixed(2)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${(seconds - minutes * 60).toFixed(1).padStart(4, '0')} s`;
}
