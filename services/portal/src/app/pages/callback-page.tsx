import { useEffect, useState } from 'preact/hooks';
import type { PortalConfig } from '../api/types';
import { completeOidcSignIn } from '../auth/oidc';
import { startSession } from '../auth/session-store';
import { navigate, safeNext } from '../router';

/** Where the identity provider sends the browser back with the authorization code. */
export function CallbackPage({ config }: { config: PortalConfig }) {
  const [error, setError] = useState('');
  useEffect(() => {
    if (config.signIn.method !== 'oidc') {
      setError('This portal does not sign in through an identity provider.');
      return;
    }
    completeOidcSignIn(config.signIn, new URLSearchParams(location.search)).then(
      ({ session, returnTo }) => {
        startSession(session);
        navigate(safeNext(returnTo), { replace: true });
      },
      (err: unknown) => setError((err as Error).message),
    );
  }, []);
  return (
    <main id="main" class="signin">
      <section class="signin-card">
        <h1>Signing in</h1>
        {error ? (
          <div class="problem" role="alert">
            <p class="problem-title">
              <strong>The sign-in did not complete</strong>
            </p>
            <p>{error}</p>
            <p>
              <a href="/signin">Back to the sign-in page</a>
            </p>
          </div>
        ) : (
          <p role="status">Finishing the sign-in with the identity provider…</p>
        )}
      </section>
    </main>
  );
}
