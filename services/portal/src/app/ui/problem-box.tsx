import type { ApiProblem } from '../api/client';
import { when } from '../format';

interface Props {
  problem: ApiProblem | null;
  /** Fields shown next to their inputs; the rest of `errors[]` is listed here. */
  shownFields?: readonly string[];
}

interface Conflict {
  id: string;
  nodes: string[];
  start: string;
  end: string;
}

/**
 * An API problem as a person can act on it: what went wrong (title), why (detail), which fields
 * (errors[] not shown beside their inputs) and what is in the way (an address, a reservation).
 */
export function ProblemBox({ problem, shownFields = [] }: Props) {
  if (!problem) return null;
  const loose = problem.errors.filter((e) => !shownFields.includes(e.path.split('.').slice(1)[0] ?? ''));
  const b = problem.body;
  const conflict = b.conflictingReservation as Conflict | undefined;
  return (
    <div class="problem" role="alert">
      <p class="problem-title">
        <strong>{problem.title}</strong>
        {problem.status ? <span class="problem-status"> ({problem.status})</span> : null}
      </p>
      {problem.detail ? <p class="problem-detail">{problem.detail}</p> : null}
      {loose.length > 0 ? (
        <ul class="problem-fields">
          {loose.map((e) => (
            <li key={e.path}>
              <code>{e.path}</code>: {e.message}
            </li>
          ))}
        </ul>
      ) : null}
      {typeof b.firstConflict === 'string' ? (
        <p>
          First address in the way: <code>{b.firstConflict}</code>
        </p>
      ) : null}
      {conflict ? (
        <p class="conflict" data-reservation={conflict.id}>
          In the way: reservation <code>{conflict.id.slice(0, 8)}</code> on {conflict.nodes.join(', ')}, from{' '}
          {when(conflict.start)} to {when(conflict.end)}.
        </p>
      ) : null}
    </div>
  );
}

/** The message of a field in a problem's errors[] (`body.name` → field `name`). */
export function fieldError(problem: ApiProblem | null, field: string): string | undefined {
  return problem?.errors.find((e) => {
    const parts = e.path.split('.');
    return (parts[0] === 'body' || parts[0] === 'query' ? parts[1] : parts[0]) === field;
  })?.message;
}
