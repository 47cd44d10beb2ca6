/** A card's typed axis limits: min and max per axis, empty for "fit the data". */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';

import type { XAxis } from '../../core/api';
import { formatStep, formatValue, formatWallTime } from '../../core/format';

export type Bounds = [number | null, number | null];
export interface Limits {
  x: Bounds;
  y: Bounds;
}
export const NO_LIMITS: Limits = { x: [null, null], y: [null, null] };

function parseBound(text: string, xAxis: XAxis | null): number | null {
  const t = text.trim();
  if (t === '') return null;
  const n = Number(t);
  if (Number.isFinite(n)) return n;
  if (xAxis === 'wall_time') {
    const ms = Date.parse(t);
    if (Number.isFinite(ms)) return ms / 1000;
  }
  return null;
}

function showBound(value: number, xAxis: XAxis | null): string {
  if (xAxis === 'wall_time') return formatWallTime(value);
  if (xAxis === 'step') return formatStep(value).replace(/,/g, '');
  return formatValue(value);
}

export function LimitsForm({
  xAxis,
  limits,
  ranges,
  onApply,
}: {
  xAxis: XAxis;
  limits: Limits;
  ranges: { x: [number, number]; y: [number, number] } | null;
  onApply(limits: Limits): void;
}): JSX.Element {
  const text = (b: number | null, axis: XAxis | null) => (b === null ? '' : showBound(b, axis));
  const [xMin, setXMin] = useState(text(limits.x[0], xAxis));
  const [xMax, setXMax] = useState(text(limits.x[1], xAxis));
  const [yMin, setYMin] = useState(text(limits.y[0], null));
  const [yMax, setYMax] = useState(text(limits.y[1], null));
  useEffect(() => {
    setXMin(text(limits.x[0], xAxis));
    setXMax(text(limits.x[1], xAxis));
    setYMin(text(limits.y[0], null));
    setYMax(text(limits.y[1], null));
  }, [limits, xAxis]);
  const apply = () =>
    onApply({
      x: [parseBound(xMin, xAxis), parseBound(xMax, xAxis)],
      y: [parseBound(yMin, null), parseBound(yMax, null)],
    });
  const field = (
    label: string,
    value: string,
    set: (v: string) => void,
    placeholder: number | undefined,
    testid: string,
    axis: XAxis | null,
  ) => (
    <label class="limits__field">
      <span>{label}</span>
      <input
        type="text"
        inputMode="decimal"
        value={value}
        placeholder={placeholder === undefined ? 'auto' : showBound(placeholder, axis)}
        data-testid={testid}
        onInput={(e) => set(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') apply();
        }}
      />
    </label>
  );
  const xLabel = xAxis === 'step' ? 'Step' : xAxis === 'relative' ? 'Relative (s)' : 'Wall time';
  return (
    <form
      class="limits"
      data-testid="card-limits-form"
      onSubmit={(e) => {
        e.preventDefault();
        apply();
      }}
    >
      {field(`${xLabel} min`, xMin, setXMin, ranges?.x[0], 'card-xmin', xAxis)}
      {field('max', xMax, setXMax, ranges?.x[1], 'card-xmax', xAxis)}
      {field('Value min', yMin, setYMin, ranges?.y[0], 'card-ymin', null)}
      {field('max', yMax, setYMax, ranges?.y[1], 'card-ymax', null)}
      <div class="limits__buttons">
        <button type="submit" class="button button--primary" data-testid="card-limits-apply">
          Apply
        </button>
        <button
          type="button"
          class="button"
          data-testid="card-limits-clear"
          onClick={() => onApply(NO_LIMITS)}
        >
          Auto
        </button>
      </div>
    </form>
  );
}
