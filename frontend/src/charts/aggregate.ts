/**
 * Run aggregation: the mean of a group of runs, with a ±1 standard deviation band or a min–max
 * band (what TensorBoard users have asked for since tensorflow/tensorboard#376).
 *
 * Runs rarely share every x (steps are logged at different rates; wall times always differ), so
 * the group is evaluated on the union of its members' x values. At each x, a member contributes
 * its value there, linearly interpolated between its two neighbouring points; a member does not
 * contribute outside its own x range (no extrapolation), nor where the interpolation would use a
 * non-finite value. `count` says how many members contributed at each x. The standard deviation is
 * the population one (divide by count), so a single member has a zero-width band.
 */
import { formatValue } from '../core/format';

export interface Member {
  /** Ascending x. */
  x: ArrayLike<number>;
  y: ArrayLike<number>;
}

export interface Aggregate {
  x: Float64Array;
  mean: Float64Array;
  std: Float64Array;
  min: Float64Array;
  max: Float64Array;
  count: Uint32Array;
}

/** The sorted distinct finite x values of all members. */
export function unionX(members: readonly Member[]): Float64Array {
  let total = 0;
  for (const m of members) total += m.x.length;
  const all = new Float64Array(total);
  let k = 0;
  for (const m of members) {
    for (let i = 0; i < m.x.length; i++) {
      const x = m.x[i]!;
      if (Number.isFinite(x)) all[k++] = x;
    }
  }
  const sorted = all.subarray(0, k).sort();
  let n = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[n - 1]) sorted[n++] = sorted[i]!;
  }
  return sorted.slice(0, n);
}

export function aggregate(members: readonly Member[]): Aggregate {
  const x = unionX(members);
  const n = x.length;
  const mean = new Float64Array(n);
  const m2 = new Float64Array(n);
  const min = new Float64Array(n).fill(Infinity);
  const max = new Float64Array(n).fill(-Infinity);
  const count = new Uint32Array(n);

  for (const member of members) {
    const mx = member.x;
    const my = member.y;
    const length = mx.length;
    if (length === 0) continue;
    let j = 0; // mx[j] <= x[i] < mx[j + 1] as i advances
    for (let i = 0; i < n; i++) {
      const xi = x[i]!;
      if (xi < mx[0]! || xi > mx[length - 1]!) continue;
      while (j + 1 < length && mx[j + 1]! <= xi) j++;
      let y: number;
      if (mx[j] === xi) {
        y = my[j]!;
      } else {
        const x0 = mx[j]!;
        const x1 = mx[j + 1]!;
        const y0 = my[j]!;
        const y1 = my[j + 1]!;
        y = y0 + ((y1 - y0) * (xi - x0)) / (x1 - x0);
      }
      if (!Number.isFinite(y)) continue;
      // Welford's update: stable for large values with a small spread.
      const c = ++count[i];
      const delta = y - mean[i]!;
      mean[i] += delta / c;
      m2[i] += delta * (y - mean[i]!);
      if (y < min[i]!) min[i] = y;
      if (y > max[i]!) max[i] = y;
    }
  }

  const std = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (count[i] === 0) {
      mean[i] = NaN;
      std[i] = NaN;
      min[i] = NaN;
      max[i] = NaN;
    } else {
      std[i] = Math.sqrt(m2[i]! / count[i]!);
    }
  }
  return { x, mean, std, min, max, count };
}

/**
 * The tooltip's summary of a group at point `i`: the mean with ±std (or the min–max range when
 * the band shows it) and how many of the group's `total` runs contribute there (a run that ended
 * earlier, or started later, does not).
 */
export function groupSummary(agg: Aggregate, i: number, band: 'std' | 'minmax' | 'none', total: number): string {
  const count = agg.count[i] ?? 0;
  const runs = `${count} of ${total} run${total === 1 ? '' : 's'}`;
  if (count === 0) return runs;
  const mean = `mean ${formatValue(agg.mean[i])}`;
  if (band === 'minmax') return `${mean} · min ${formatValue(agg.min[i])} – max ${formatValue(agg.max[i])} · ${runs}`;
  return `${mean} ± ${formatValue(agg.std[i])} · ${runs}`;
}

/** The lower and upper edges of a group's band. */
export function bandEdges(agg: Aggregate, band: 'std' | 'minmax'): { lo: Float64Array; hi: Float64Array } {
  if (band === 'minmax') return { lo: agg.min, hi: agg.max };
  const lo = new Float64Array(agg.x.length);
  const hi = new Float64Array(agg.x.length);
  for (let i = 0; i < lo.length; i++) {
    lo[i] = agg.mean[i]! - agg.std[i]!;
    hi[i] = agg.mean[i]! + agg.std[i]!;
  }
  return { lo, hi };
}

/**
 * The "Experiment" preset: the runs a framework's own logger writes for one experiment, grouped
 * under their parent directory: Keras's `train` and `validation` sub-runs, Lightning's
 * `version_<N>` runs (and their `train`/`validation` sub-runs). `fit/train` and
 * `fit/validation` form `fit`, `lightning_logs/version_3` forms `lightning_logs`; such runs at
 * the top of the log directory form `.`. Other runs stay single.
 */
export const EXPERIMENT_GROUP_PATTERN =
  '^(?:(.+?)/)?(?:version_\\d+(?:/(?:train|validation))?|train|validation)$';

/**
 * The group a run belongs to, or null to draw it on its own.
 * Regex: the capture groups joined by '/' (the whole match when the regex has none); when every
 * group is empty or did not take part, the group is '.' (the log directory, as runs name it).
 * Part: part `index` of the name split by `separator`; negative indices count from the end.
 */
export function groupKey(
  run: string,
  groupBy:
    | { kind: 'none' }
    | { kind: 'regex'; regex: RegExp }
    | { kind: 'part'; separator: string; index: number },
): string | null {
  switch (groupBy.kind) {
    case 'none':
      return null;
    case 'regex': {
      const match = groupBy.regex.exec(run);
      if (!match) return null;
      const captures = match.slice(1).filter((c): c is string => c !== undefined);
      return match.length > 1 ? captures.join('/') || '.' : match[0];
    }
    case 'part': {
      if (!groupBy.separator) return null;
      const parts = run.split(groupBy.separator);
      const index = groupBy.index < 0 ? parts.length + groupBy.index : groupBy.index;
      return index >= 0 && index < parts.length ? parts[index]! : null;
    }
  }
}

/**
 * Which member stands out from its group. At each x of `agg` (the aggregate of the same
 * `members`): `farthest`, the index of the member farthest from the mean there (-1 where fewer
 * than three members contribute: two are always equally far), and `delta`, its value minus the
 * mean. `lastX`: each member's last x (a member whose last x is below an x ended before it).
 */
export interface Spread {
  farthest: Int32Array;
  delta: Float64Array;
  lastX: Float64Array;
}

export function spread(members: readonly Member[], agg: Aggregate): Spread {
  const { x, mean, count } = agg;
  const n = x.length;
  const farthest = new Int32Array(n).fill(-1);
  const delta = new Float64Array(n).fill(NaN);
  const distance = new Float64Array(n).fill(-1);
  const lastX = new Float64Array(members.length).fill(NaN);
  members.forEach((member, k) => {
    const mx = member.x;
    const my = member.y;
    const length = mx.length;
    if (length === 0) return;
    lastX[k] = mx[length - 1]!;
    let j = 0; // as in aggregate(): mx[j] <= x[i] < mx[j + 1]
    for (let i = 0; i < n; i++) {
      const xi = x[i]!;
      if (count[i]! < 3 || xi < mx[0]! || xi > mx[length - 1]!) continue;
      while (j + 1 < length && mx[j + 1]! <= xi) j++;
      const y =
        mx[j] === xi ? my[j]! : my[j]! + ((my[j + 1]! - my[j]!) * (xi - mx[j]!)) / (mx[j + 1]! - mx[j]!);
      const d = y - mean[i]!;
      if (Number.isFinite(d) && Math.abs(d) > distance[i]!) {
        distance[i] = Math.abs(d);
        farthest[i] = k;
        delta[i] = d;
      }
    }
  });
  return { farthest, delta, lastX };
}

/**
 * The slowest member: the one with the fewest steps per second over its whole series (`x`: steps,
 * `y`: wall times), when it is at least `margin` (a fraction) slower than the group's mean rate
 * and that costs it at least `minLag` seconds over its steps (so that points written in a burst,
 * milliseconds apart, name no one); null when no member is, or fewer than two have a rate.
 */
export function slowest(
  members: readonly Member[],
  margin = 0.05,
  minLag = 1,
): { index: number; rate: number; meanRate: number } | null {
  let total = 0;
  let counted = 0;
  let index = -1;
  let rate = Infinity;
  let steps = 0;
  for (let k = 0; k < members.length; k++) {
    const { x, y } = members[k]!;
    const last = x.length - 1;
    if (last < 1) continue;
    const r = (x[last]! - x[0]!) / (y[last]! - y[0]!);
    if (!Number.isFinite(r) || r <= 0) continue;
    total += r;
    counted++;
    if (r < rate) [index, rate, steps] = [k, r, x[last]! - x[0]!];
  }
  if (counted < 2) return null;
  const meanRate = total / counted;
  const lag = steps / rate - steps / meanRate;
  return rate <= meanRate * (1 - margin) && lag >= minLag ? { index, rate, meanRate } : null;
}

/**
 * The "Group ranks" preset: `<job>/rank_<k>` runs (and `<job>/rank_<k>/<sub-run>`, as
 * `add_scalars` writes them) grouped by job, as `SummaryWriter(ranks="separate")` names them;
 * runs named `rank_<k>` at the top of the log directory form `.`.
 */
export const RANK_GROUP_PATTERN = '^(?:(.+)/)?rank_\\d+(?:/(.+))?$';
