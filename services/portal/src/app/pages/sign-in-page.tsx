import { useState } from 'preact/hooks';
import { localToken } from '../api/endpoints';
import type { PortalConfig, Role } from '../api/types';
import { beginOidcSignIn } from '../auth/oidc';
import { sessionFromToken } from '../auth/session';
import { sessionEndReason, startSession } from '../auth/session-store';
import { safeNext, type Route } from '../router';
import { ProblemBox, fieldError } from '../ui/problem-box';
import { SelectField, TextField } from '../ui/fields';
import { useAction } from '../ui/hooks';

/** The only page a signed-out visitor sees, whatever address they opened. */
export function SignInPage({ config, route }: { config: PortalConfig; route: Route }) {
  const next = safeNext(
    route.name === 'signin' ? route.query.get('next') : route.path + (location.search || ''),
  );
  const reason = sessionEndReason();
  return (
    <main id="main" class="signin">
      <section class="signin-card">
        <h1>Sign in to the testbed</h1>
        <p class="lead">Create, batch-create, network and watch containers on the testbed’s nodes.</p>
        {reason ? (
          <p class="notice" role="status">
            {reason}
          </p>
        ) : null}
        {config.signIn.method === 'local' ? (
          <LocalSignIn tokenPath={config.signIn.tokenPath} roles={config.signIn.roles} next={next} />
        ) : config.signIn.method === 'oidc' ? (
          <OidcSignIn config={config} next={next} />
        ) : (
          <div class="problem" role="alert">
            <p class="problem-title">
              <strong>Sign-in is not configured</strong>
            </p>
            <p>{config.signIn.detail}</p>
          </div>
        )}
      </section>
    </main>
  );
}

function LocalSignIn({
  tokenPath,
  roles,
  next,
}: {
  tokenPath: string;
  roles: readonly Role[];
  next: string;
}) {
  const [user, setUser] = useState('');
  const [role, setRole] = useState<Role>('user');
  const { busy, problem, run } = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    const answer = await run(() => localToken(tokenPath, user.trim(), role));
    if (!answer) return;
    startSession(sessionFromToken(answer.body.accessToken, 'local'));
    history.replaceState(null, '', next);
    dispatchEvent(new PopStateEvent('popstate'));
  };
  return (
    <form onSubmit={submit} noValidate>
      <p>
        This platform trusts its own local key (the embedded default): sign in with a user name. With an
        identity provider configured, you sign in there instead.
      </p>
      <TextField
        id="signin-user"
        label="User name"
        value={user}
        onValue={setUser}
        autoComplete="username"
        required
        error={fieldError(problem, 'user')}
      />
      <SelectField
        id="signin-role"
        label="Role"
        value={role}
        onValue={(v) => setRole(v as Role)}
        options={roles.map((r) => ({ value: r, label: r }))}
        error={fieldError(problem, 'role')}
        hint="Operators and the service role see every user’s containers."
      />
      <ProblemBox problem={problem} shownFields={['user', 'role']} />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </div>
    </form>
  );
}

function OidcSignIn({ config, next }: { config: PortalConfig; next: string }) {
  const cfg = config.signIn as Extract<PortalConfig['signIn'], { method: 'oidc' }>;
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const go = async () => {
    setBusy(true);
    setError('');
    try {
      await beginOidcSignIn(cfg, next);
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };
  return (
    <div>
      <p>
        You sign in with the testbed’s identity provider, <code>{cfg.issuer}</code>.
      </p>
      {error ? (
        <div class="problem" role="alert">
          <p class="problem-title">
            <strong>Cannot reach the identity provider</strong>
          </p>
          <p>{error}</p>
        </div>
      ) : null}
      <div class="actions">
        <button type="button" class="primary" disabled={busy} onClick={() => void go()}>
          {busy ? 'Going to the identity provider…' : 'Sign in with the identity provider'}
        </button>
      </div>
    </div>
  );
}
