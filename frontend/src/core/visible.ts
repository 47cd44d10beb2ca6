/** Whether an element is on (or near) the screen: cards load and draw only when they are. */
import type { RefObject } from 'preact';
import { useLayoutEffect, useState } from 'preact/hooks';

type Callback = (visible: boolean) => void;
const callbacks = new WeakMap<Element, Callback>();
let observer: IntersectionObserver | null = null;

function shared(): IntersectionObserver {
  observer ??= new IntersectionObserver(
    (entries) => {
      for (const entry of entries) callbacks.get(entry.target)?.(entry.isIntersecting);
    },
    { rootMargin: '300px 0px' },
  );
  return observer;
}

export function useVisible(ref: RefObject<Element | null>): boolean {
  const [visible, setVisible] = useState(false);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    // On screen already: no need to wait a frame for the observer's first report.
    const rect = el.getBoundingClientRect();
    if (rect.bottom > -300 && rect.top < window.innerHeight + 300 && rect.width > 0) setVisible(true);
    if (typeof IntersectionObserver === 'undefined') {
      setVisible(true);
      return undefined;
    }
    callbacks.set(el, setVisible);
    shared().observe(el);
    return () => {
      shared().unobserve(el);
      callbacks.delete(el);
    };
  }, [ref]);
  return visible;
}
