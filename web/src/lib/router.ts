/** A tiny hash router: works from any static server (no fallback route needed). */
import { useEffect, useState } from 'react';

export interface Route {
  path: string;
  params: URLSearchParams;
}

function current(): Route {
  const hash = globalThis.location?.hash ?? '';
  const raw = hash.startsWith('#') ? hash.slice(1) : hash;
  const [path, query] = (raw || '/').split('?');
  return { path: path || '/', params: new URLSearchParams(query ?? '') };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const on = () => setRoute(current());
    globalThis.addEventListener('hashchange', on);
    return () => globalThis.removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function navigate(path: string) {
  globalThis.location.hash = path;
}

export function href(path: string): string {
  return `#${path}`;
}
