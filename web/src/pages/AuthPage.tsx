import { useState, type FormEvent } from 'react';
import { login, signup } from '../lib/gateway';
import { useApp } from '../lib/app';
import { href, navigate } from '../lib/router';
import { Alert, Card, Field, PageTitle } from '../components/ui';

export function AuthPage({ mode }: { mode: 'login' | 'signup' }) {
  const { setUser } = useApp();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const isSignup = mode === 'signup';

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    if (!username.trim()) return setError('Enter a user name.');
    if (isSignup && password.length < 8) return setError('Choose a password of at least 8 characters.');
    if (isSignup && password !== confirm) return setError('The two passwords differ.');
    setBusy(true);
    try {
      const user = await (isSignup ? signup : login)(username.trim(), password);
      setUser(user);
      navigate('/devices');
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="narrow">
      <PageTitle>{isSignup ? 'Create an account' : 'Log in'}</PageTitle>
      <Card>
        <form onSubmit={submit} noValidate aria-describedby={error ? 'auth-error' : undefined}>
          <Field label="User name" id="username">
            <input id="username" name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required />
          </Field>
          <Field label="Password" id="password" hint={isSignup ? 'At least 8 characters.' : undefined}>
            <input
              id="password"
              name="password"
              type="password"
              autoComplete={isSignup ? 'new-password' : 'current-password'}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              aria-describedby={isSignup ? 'password-hint' : undefined}
              required
            />
          </Field>
          {isSignup && (
            <Field label="Repeat the password" id="confirm">
              <input id="confirm" name="confirm" type="password" autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} required />
            </Field>
          )}
          {error && (
            <div id="auth-error">
              <Alert title={isSignup ? 'Could not create the account' : 'Could not log in'}>{error}</Alert>
            </div>
          )}
          <button type="submit" className="button" disabled={busy}>
            {busy ? 'Please wait…' : isSignup ? 'Sign up' : 'Log in'}
          </button>
        </form>
      </Card>
      <p>
        {isSignup ? (
          <>
            Already have an account? <a href={href('/login')}>Log in</a>.
          </>
        ) : (
          <>
            New here? <a href={href('/signup')}>Create an account</a>.
          </>
        )}
      </p>
    </div>
  );
}
