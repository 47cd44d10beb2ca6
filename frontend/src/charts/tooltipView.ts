/**
 * The tooltip's DOM: a table beside the cursor (TensorBoard's columns: run, smoothed, value,
 * step, time, relative) and a dot on each hovered point. Text goes in through textContent only.
 */
import { formatDuration, formatStep, formatValue, formatWallTime } from '../core/format';
import type { TooltipRow } from './tooltip';

/** The row limit when the host sets none. */
const MAX_ROWS = 12;

export class TooltipView {
  private tip: HTMLDivElement | null = null;
  private dots: HTMLDivElement[] = [];

  /**
   * Show `rows` (already sorted) for a cursor at (left, top) within the plot area `over`: the
   * first `limit`, then "+k more".
   */
  show(
    rows: TooltipRow[],
    smoothing: boolean,
    over: HTMLElement,
    left: number,
    top: number,
    limit: number = MAX_ROWS,
  ): void {
    if (rows.length === 0) {
      this.hide();
      return;
    }
    const shown = rows.slice(0, Math.max(1, Math.floor(limit)));
    this.placeDots(shown, over);

    const tip = this.tip ?? this.create();
    const head = ['', 'Run', ...(smoothing ? ['Smoothed'] : []), 'Value', 'Step', 'Time', 'Relative'];
    const table = document.createElement('table');
    const headRow = table.createTHead().insertRow();
    for (const text of head) {
      const th = document.createElement('th');
      th.textContent = text;
      headRow.appendChild(th);
    }
    const body = table.createTBody();
    for (const row of shown) {
      const tr = body.insertRow();
      if (row.closest) tr.className = 'closest';
      const swatch = document.createElement('span');
      swatch.className = 'lb-swatch';
      swatch.style.background = row.color;
      tr.insertCell().appendChild(swatch);
      const cells = [
        row.name,
        ...(smoothing ? [formatValue(row.smoothed)] : []),
        formatValue(row.value),
        formatStep(row.step),
        formatWallTime(row.wallTime),
        formatDuration(row.relative),
      ];
      cells.forEach((text, i) => {
        const td = tr.insertCell();
        td.textContent = text;
        if (i === 0) td.className = 'name';
      });
      for (const note of row.notes ?? []) {
        const noteRow = body.insertRow();
        noteRow.insertCell();
        const td = noteRow.insertCell();
        td.colSpan = head.length - 1;
        td.className = 'note';
        td.dataset.testid = 'tooltip-note';
        td.textContent = note;
      }
    }
    if (rows.length > shown.length) {
      const more = body.insertRow().insertCell();
      more.colSpan = head.length;
      more.className = 'more';
      more.dataset.testid = 'tooltip-more';
      more.textContent = `+${rows.length - shown.length} more`;
    }
    tip.replaceChildren(table);
    tip.style.display = 'block';

    // Beside the cursor, flipped to stay inside the window.
    const rect = over.getBoundingClientRect();
    const cx = rect.left + left;
    const cy = rect.top + top;
    const w = tip.offsetWidth;
    const h = tip.offsetHeight;
    let x = cx + 18;
    if (x + w > window.innerWidth - 8) x = Math.max(8, cx - w - 18);
    let y = cy + 18;
    if (y + h > window.innerHeight - 8) y = Math.max(8, cy - h - 18);
    tip.style.transform = `translate(${Math.round(x)}px, ${Math.round(y)}px)`;
  }

  hide(): void {
    if (this.tip) this.tip.style.display = 'none';
    for (const dot of this.dots) dot.style.display = 'none';
  }

  /** Forget the dots (their plot was destroyed with them). */
  detach(): void {
    this.dots = [];
    this.hide();
  }

  destroy(): void {
    this.detach();
    this.tip?.remove();
    this.tip = null;
  }

  private placeDots(rows: TooltipRow[], over: HTMLElement): void {
    while (this.dots.length < rows.length) {
      const dot = document.createElement('div');
      dot.className = 'lb-dot';
      over.appendChild(dot);
      this.dots.push(dot);
    }
    const height = over.clientHeight;
    this.dots.forEach((dot, i) => {
      const row = rows[i];
      if (!row || !Number.isFinite(row.yPx) || row.yPx < -1 || row.yPx > height + 1) {
        dot.style.display = 'none';
        return;
      }
      dot.style.display = 'block';
      dot.style.background = row.color;
      dot.classList.toggle('lb-dot--closest', row.closest);
      dot.style.transform = `translate(${row.xPx}px, ${row.yPx}px)`;
    });
  }

  private create(): HTMLDivElement {
    const tip = document.createElement('div');
    tip.className = 'lb-tooltip';
    tip.dataset.testid = 'chart-tooltip';
    document.body.appendChild(tip);
    this.tip = tip;
    return tip;
  }
}
