import type { ComponentChildren } from 'preact';
import type { ApiProblem } from '../api/client';
import { Loading } from './bits';
import type { Loaded } from './hooks';
import { ProblemBox } from './problem-box';

interface StatusProps<T> {
  loaded: Loaded<T>;
  /** What is loading, as "Loading {what}…" says it. */
  what: string;
  /** The problem to show; default the load's own (a page passes its action's problem too). */
  problem?: ApiProblem | null;
}

/** A load's problem, and "Loading …" until its first answer (a refresh keeps the data on screen instead). */
export function LoadStatus<T>({ loaded, what, problem = loaded.problem }: StatusProps<T>) {
  return (
    <>
      <ProblemBox problem={problem} />
      {loaded.loading && !loaded.data ? <Loading what={what} /> : null}
    </>
  );
}

interface ListProps<T> extends StatusProps<T[]> {
  /** What to say instead of an empty list; without it an empty list is shown as it is. */
  empty?: ComponentChildren;
  children: (items: T[]) => ComponentChildren;
}

/** A loaded list: its load status, then the list once it is there, or what the page says when it is empty. */
export function AsyncList<T>({ empty, children, ...status }: ListProps<T>) {
  const items = status.loaded.data;
  return (
    <>
      <LoadStatus {...status} />
      {items && items.length === 0 && empty !== undefined ? <p class="empty">{empty}</p> : null}
      {items && (items.length > 0 || empty === undefined) ? children(items) : null}
    </>
  );
}
