import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { problemOf, type ApiProblem } from '../api/client';

export interface Loaded<T> {
  data: T | undefined;
  problem: ApiProblem | null;
  loading: boolean;
  reload: () => Promise<void>;
  set: (v: T) => void;
}

/**
 * Loads with `load` when `deps` change, and again every `everyMs` while the page is shown (and the
 * tab visible). A refresh keeps the last data on screen; only the first load shows "loading".
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], everyMs?: number): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [loading, setLoading] = useState(true);
  const loadRef = useRef(load);
  loadRef.current = load;
  const generation = useRef(0);

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const v = await loadRef.current();
      if (mine !== generation.current) return;
      setData(v);
      setProblem(null);
    } catch (err) {
      if (mine !== generation.current) return;
      setProblem(problemOf(err));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    setLoading(true);
    void reload();
    if (!everyMs) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void reload();
    }, everyMs);
    return () => clearInterval(timer);
  }, deps);

  return { data, problem, loading, reload, set: setData };
}

/** Runs an action, keeping its problem and whether it runs; the action's own result is returned. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const run = useCallback(async <R>(action: () => Promise<R>): Promise<R | undefined> => {
    setBusy(true);
    setProblem(null);
    try {
      return await action();
    } catch (err) {
      setProblem(problemOf(err));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, problem, setProblem, run };
}
