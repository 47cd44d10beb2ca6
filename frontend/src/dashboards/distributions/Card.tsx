/** One distribution card (run × tag): nested percentile bands over time, hover for the values. */
import type { JSX } from 'preact';
import { useMemo, useRef, useState } from 'preact/hooks';

import { pluginUrl, type XAxis } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { formatValue } from '../../core/format';
import { useJson } from '../../core/useJson';
import { useVisible } from '../../core/visible';
import { CardDescription, CardStatus } from '../../components/CardParts';
import { useWidth } from '../histograms/Chart';
import { describeTime, formatTime, niceTicks, px } from '../histograms/svg';
import {
  BASIS_LABELS,
  buildDistributionGeometry,
  nearestPoint,
  parseDistributions,
  type Box,
  type RawDistribution,
} from './model';

const HEIGHT = 250;

export interface DistributionCardProps {
  api: DashboardApi;
  tag: string;
  run: string;
  description: string;
  xAxis: XAxis;
  colorsVersion: number;
}

export function DistributionCard({ api, tag, run, description, xAxis, colorsVersion }: DistributionCardProps): JSX.Element {
  const cardRef = useRef<HTMLDivElement>(null);
  const chartRef = useRef<HTMLDivElement>(null);
  const seen = useRef(false);
  const visible = useVisible(cardRef);
  if (visible) seen.current = true;
  const url = seen.current ? pluginUrl('distributions', 'distributions', { run, tag }) : null;
  const state = useJson<RawDistribution[]>(api, url);
  const dist = useMemo(() => (state.data ? parseDistributions(state.data) : null), [state.data]);
  const width = useWidth(chartRef);
  const box: Box = useMemo(() => ({ left: 50, top: 10, right: Math.max(80, width - 14), bottom: HEIGHT - 26 }), [width]);
  const geometry = useMemo(
    () => (dist && width > 0 ? buildDistributionGeometry(dist, xAxis, box) : null),
    [dist, xAxis, box, width],
  );
  const [hover, setHover] = useState<number | null>(null);
  const color = useMemo(() => api.colors.get(run), [api, run, colorsVersion]);

  let chart: JSX.Element | null = null;
  if (geometry && dist) {
    const [t0, t1] = geometry.timeRange;
    const timeTicks = niceTicks(t0, t1, Math.max(2, Math.floor((box.right - box.left) / 90)));
    const incr = timeTicks.length > 1 ? timeTicks[1]! - timeTicks[0]! : 1;
    const valueTicks = niceTicks(geometry.valueRange[0], geometry.valueRange[1], 5);
    const hx = hover !== null ? geometry.x(geometry.times[hover]!) : 0;
    chart = (
      <svg
        width={width}
        height={HEIGHT}
        data-testid="dist-chart"
        data-points={geometry.drawn.length}
        onMouseMove={(event) => {
          const rect = event.currentTarget.getBoundingClientRect();
          const mx = event.clientX - rect.left;
          setHover(mx < box.left - 8 || mx > box.right + 8 ? null : nearestPoint(geometry, mx));
        }}
        onMouseLeave={() => setHover(null)}
      >
        <g class="hist-axis" data-testid="dist-value-axis">
          {valueTicks.map((tick) => (
            <g key={`v${tick}`}>
              <line x1={box.left} x2={box.right} y1={px(geometry.y(tick))} y2={px(geometry.y(tick))} class="hist-grid" />
              <text x={box.left - 6} y={px(geometry.y(tick) + 4)} text-anchor="end">
                {formatValue(tick)}
              </text>
            </g>
          ))}
        </g>
        <g class="hist-axis" data-testid="dist-time-axis">
          <line x1={box.left} x2={box.right} y1={box.bottom + 0.5} y2={box.bottom + 0.5} class="hist-axis__line" />
          {timeTicks.map((tick) => (
            <text key={`t${tick}`} x={px(geometry.x(tick))} y={box.bottom + 16} text-anchor="middle">
              {formatTime(xAxis, tick, incr)}
            </text>
          ))}
        </g>
        <g data-testid="dist-bands">
          {geometry.bands.map((band) => (
            <path
              key={band.name}
              d={band.d}
              data-band={band.name}
              data-testid="dist-band"
              style={{ fill: color, fillOpacity: band.opacity, stroke: 'none' }}
            />
          ))}
          <path
            d={geometry.median}
            data-band="median"
            data-testid="dist-median"
            style={{ fill: 'none', stroke: color, strokeWidth: 1.5 }}
          />
        </g>
        {hover !== null ? (
          <g data-testid="dist-hover">
            <line class="hist-hover-line" x1={px(hx)} x2={px(hx)} y1={box.top} y2={box.bottom} />
            {dist.values.map((column, i) => (
              <circle key={i} cx={px(hx)} cy={px(geometry.y(column[hover]!))} r={i === 4 ? 3.5 : 2.5} style={{ fill: color }} />
            ))}
          </g>
        ) : null}
      </svg>
    );
  }

  return (
    <div class="card hist-card" ref={cardRef} data-testid="distribution-card" data-tag={tag} data-run={run}>
      <div class="card__head">
        <div class="card__titles">
          <div class="card__title" title={tag} data-testid="card-title">
            {tag}
          </div>
          <div class="hist-card__run" data-testid="card-run" title={run}>
            <span class="swatch" style={{ background: color }} />
            {run}
          </div>
          <CardDescription description={description} />
        </div>
      </div>
      <div class="card__chart hist-card__chart" ref={chartRef}>
        {chart ?? (
          <div class="card__placeholder">
            {state.error ? '' : dist && dist.step.length > 0 ? 'Nothing finite to draw' : 'Loading…'}
          </div>
        )}
        {hover !== null && geometry && dist ? (
          <div
            class="hist-tooltip"
            data-testid="dist-tooltip"
            style={{
              left: `${Math.min(Math.max(0, geometry.x(geometry.times[hover]!) + 12), Math.max(0, width - 170))}px`,
              top: '8px',
            }}
          >
            <div data-testid="dist-tooltip-step">{describeTime(xAxis, geometry.times[hover]!)}</div>
            {xAxis !== 'step' ? <div>step {dist.step[hover]}</div> : null}
            <table>
              <tbody>
                {[...BASIS_LABELS.keys()].reverse().map((i) => (
                  <tr key={i} data-testid="dist-tooltip-row">
                    <td>{BASIS_LABELS[i]}</td>
                    <td>{formatValue(dist.values[i]![hover])}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </div>
      <div class="card__foot">
        <span data-testid="card-count">
          {geometry ? `${geometry.drawn.length} steps` : ''}
          {geometry && geometry.skipped ? ` (${geometry.skipped} with non-finite values not drawn)` : ''}
        </span>
        <CardStatus error={state.error} pending={state.pending} />
      </div>
    </div>
  );
}
