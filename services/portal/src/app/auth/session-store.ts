import { useEffect, useState } from 'preact/hooks';
import { clearSession, loadSession, saveSession, type Session } from './session';

/** The signed-in session, shared by every page; pages re-render when it changes. */
let current: Session | null = loadSession();
/** Why the last session ended, for the sign-in page (expired, refused). */
let endedBecause = '';
const listeners = new Set<() => void>();
const notify = () => listeners.forEach((l) => l());

export function session(): Session | null {
  if (current && current.expiresAt <= Date.now()) {
    endSession('Your session expired: sign in again.');
  }
  return current;
}

export function startSession(s: Session): void {
  current = s;
  endedBecause = '';
  saveSession(s);
  notify();
}

export function endSession(reason = ''): void {
  current = null;
  endedBecause = reason;
  clearSession();
  notify();
}

export function sessionEndReason(): string {
  return endedBecause;
}

export function useSession(): Session | null {
  const [, setTick] = useState(0);
  useEffect(() => {
    const l = () => setTick((t) => t + 1);
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
  return session();
}

export const actsForOthers = (s: Session | null): boolean => s?.role === 'operator' || s?.role === 'service';
