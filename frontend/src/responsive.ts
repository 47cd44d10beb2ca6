/**
 * Narrow screens: the width below which the runs panel starts as a rail (an overlay drawer on
 * a phone, responsive.css) so that the dashboard keeps the room.
 */
import { useEffect, useState } from 'preact/hooks';

import './responsive.css';

export const NARROW_QUERY = '(max-width: 900px)';

/** Whether the window is narrow now (follows resizes and rotations). */
export function useNarrow(): boolean {
  const query = typeof window !== 'undefined' && window.matchMedia ? window.matchMedia(NARROW_QUERY) : null;
  const [narrow, setNarrow] = useState(query?.matches ?? false);
  useEffect(() => {
    if (!query) return undefined;
    const update = () => setNarrow(query.matches);
    query.addEventListener('change', update);
    return () => query.removeEventListener('change', update);
  }, []);
  return narrow;
}
