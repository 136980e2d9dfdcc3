import { useEffect } from 'preact/hooks';
import type { ApiProblem } from '../api/client';

/** Tells which reservation a refused booking or change names (a 409's `conflictingReservation`). */
export function useConflictingReservation(problem: ApiProblem | null, onConflict: (id: string) => void) {
  useEffect(() => {
    const c = problem?.body.conflictingReservation as { id?: string } | undefined;
    if (c?.id) onConflict(c.id);
  }, [problem]);
}
