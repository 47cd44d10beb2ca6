/**
 * The runs panel's keyboard and pointer controls: one tab stop for the whole run list (a roving
 * tabindex, as the WAI-ARIA practices describe for composite widgets) and the drag handle that
 * resizes the panel.
 */
import { useLayoutEffect, useRef, useState } from 'preact/hooks';

import { clampWidth, runsPanelLayout } from './runList';

const FOCUSABLE = 'input, a, button, select, textarea, [tabindex]';

/**
 * One tab stop for the list: the active row's checkbox; arrow keys move between rows (Up/Down,
 * Home/End) and along a row's controls (Left/Right); Space toggles the checkbox (natively).
 * Every other control of the list is taken out of the tab order after each render (the health
 * badge and the MLflow link are not this panel's elements to give a tabIndex prop).
 */
export function useRovingRows(visible: readonly string[]) {
  const listRef = useRef<HTMLUListElement>(null);
  const [activeRun, setActiveRun] = useState<string | null>(null);
  const active = activeRun !== null && visible.includes(activeRun) ? activeRun : (visible[0] ?? null);
  useLayoutEffect(() => {
    const list = listRef.current;
    if (!list) return;
    const target = list.querySelector<HTMLElement>(
      `[data-testid=run-checkbox][data-run="${CSS.escape(active ?? '')}"]`,
    );
    for (const el of list.querySelectorAll<HTMLElement>(FOCUSABLE)) {
      const stop = el === target;
      if (el.tabIndex !== (stop ? 0 : -1)) el.tabIndex = stop ? 0 : -1;
    }
  });
  const onListKey = (e: KeyboardEvent) => {
    const list = listRef.current;
    const from =
      e.target instanceof HTMLElement ? e.target.closest<HTMLElement>('[data-testid=run-row]') : null;
    if (!list || !from || visible.length === 0) return;
    const index = visible.indexOf(from.dataset.run ?? '');
    let next = -1;
    if (e.key === 'ArrowDown') next = Math.min(visible.length - 1, index + 1);
    else if (e.key === 'ArrowUp') next = Math.max(0, index - 1);
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = visible.length - 1;
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
      const controls = [...from.querySelectorAll<HTMLElement>(FOCUSABLE)];
      const at = controls.indexOf(e.target as HTMLElement);
      const to = controls[at + (e.key === 'ArrowRight' ? 1 : -1)];
      if (to && at >= 0) {
        e.preventDefault();
        to.focus();
      }
      return;
    } else return;
    e.preventDefault();
    const run = visible[next]!;
    setActiveRun(run);
    list
      .querySelector<HTMLElement>(`[data-testid=run-checkbox][data-run="${CSS.escape(run)}"]`)
      ?.focus();
  };
  return { listRef, active, setActiveRun, onListKey };
}

/** The panel's width by dragging its right edge (or arrow keys on the handle); stored on release. */
export function usePanelResize() {
  const panelRef = useRef<HTMLElement>(null);
  const [dragWidth, setDragWidth] = useState<number | null>(null);
  const onResizeStart = (e: PointerEvent) => {
    const panel = panelRef.current;
    if (!panel || e.button !== 0) return;
    e.preventDefault();
    const handle = e.currentTarget as HTMLElement;
    handle.setPointerCapture(e.pointerId);
    const left = panel.getBoundingClientRect().left;
    let last = panel.getBoundingClientRect().width;
    const move = (ev: PointerEvent) => {
      last = clampWidth(ev.clientX - left);
      setDragWidth(last);
    };
    const up = () => {
      handle.removeEventListener('pointermove', move);
      handle.removeEventListener('pointerup', up);
      handle.removeEventListener('pointercancel', up);
      runsPanelLayout().set({ width: clampWidth(last) });
      setDragWidth(null);
    };
    handle.addEventListener('pointermove', move);
    handle.addEventListener('pointerup', up);
    handle.addEventListener('pointercancel', up);
  };
  const onResizeKey = (e: KeyboardEvent) => {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    e.preventDefault();
    const now = panelRef.current?.getBoundingClientRect().width ?? 272;
    runsPanelLayout().set({ width: clampWidth(now + (e.key === 'ArrowRight' ? 16 : -16)) });
  };
  return { panelRef, dragWidth, onResizeStart, onResizeKey };
}
