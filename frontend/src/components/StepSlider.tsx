/**
 * A slider over the steps a series recorded (not over all integers): arrow keys move one
 * recorded step, the label shows the step and its time. `index` is into `steps`.
 */
import type { JSX } from 'preact';

import { formatWallTime } from '../core/format';

export interface StepSliderProps {
  steps: readonly number[];
  /** Wall times (seconds) matching `steps`, for the label; optional. */
  wallTimes?: readonly number[];
  index: number;
  onChange(index: number): void;
  testid?: string;
}

export function StepSlider({ steps, wallTimes, index, onChange, testid = 'step-slider' }: StepSliderProps): JSX.Element {
  const last = Math.max(0, steps.length - 1);
  const current = Math.min(Math.max(0, index), last);
  const step = steps[current];
  const wall = wallTimes?.[current];
  return (
    <div class="step-slider">
      <span class="step-slider__label" data-testid={`${testid}-label`}>
        step <b>{step ?? '–'}</b>
        {wall !== undefined ? <span class="step-slider__time"> · {formatWallTime(wall)}</span> : null}
      </span>
      {steps.length > 1 ? (
        <input
          type="range"
          min={0}
          max={last}
          step={1}
          value={current}
          aria-label="Step"
          aria-valuetext={`step ${step ?? ''}`}
          data-testid={testid}
          onInput={(e) => onChange(Number(e.currentTarget.value))}
        />
      ) : null}
    </div>
  );
}
