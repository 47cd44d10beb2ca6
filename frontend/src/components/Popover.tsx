/** A menu that opens under its button and closes on a click elsewhere or Escape. */
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

export interface PopoverProps {
  label: ComponentChildren;
  title: string;
  testid: string;
  class?: string;
  align?: 'left' | 'right';
  children: ComponentChildren;
}

export function Popover({ label, title, testid, class: extra, align = 'right', children }: PopoverProps): JSX.Element {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return undefined;
    const onDown = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') setOpen(false);
    };
    document.addEventListener('mousedown', onDown);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', onDown);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);
  return (
    <div class={`popover ${extra ?? ''}`} ref={ref}>
      <button
        type="button"
        class={`icon-button ${open ? 'icon-button--on' : ''}`}
        title={title}
        aria-label={title}
        aria-expanded={open}
        data-testid={testid}
        onClick={() => setOpen(!open)}
      >
        {label}
      </button>
      {open ? <div class={`popover__panel popover__panel--${align}`}>{children}</div> : null}
    </div>
  );
}
