import { useState, type ReactNode } from 'react';
import { useApp } from './lib/app';
import { href, navigate, useRoute } from './lib/router';
import { logout } from './lib/gateway';
import { Alert } from './components/ui';
import { HomePage } from './pages/HomePage';
import { AuthPage } from './pages/AuthPage';
import { DevicesPage } from './pages/DevicesPage';
import { DevicePage } from './pages/DevicePage';
import { VerifyPage } from './pages/VerifyPage';
import { StatsPage } from './pages/StatsPage';
import { SystemPage } from './pages/SystemPage';
import { CertificatePage, CertificatePrintPage } from './pages/CertificatePage';

const NAV: [string, string][] = [
  ['/verify', 'Verify'],
  ['/certificate', 'Check a certificate'],
  ['/devices', 'My devices'],
  ['/stats', 'Statistics'],
  ['/system', 'System'],
];

function page(path: string, params: URLSearchParams): ReactNode {
  if (path === '/' || path === '') return <HomePage />;
  if (path === '/login') return <AuthPage mode="login" />;
  if (path === '/signup') return <AuthPage mode="signup" />;
  if (path === '/devices') return <DevicesPage />;
  const device = /^\/devices\/([0-9a-fA-F]{32})$/.exec(path);
  if (device?.[1]) return <DevicePage deviceId={device[1].toLowerCase()} />;
  if (path === '/verify') return <VerifyPage initialDevice={params.get('device') ?? ''} />;
  if (path === '/certificate') return <CertificatePage />;
  if (path === '/certificate/print') return <CertificatePrintPage />;
  if (path === '/stats') return <StatsPage />;
  if (path === '/system') return <SystemPage />;
  return (
    <Alert tone="warn" title="Page not found">
      There is no page at <code>{path}</code>. <a href={href('/')}>Go to the start page</a>.
    </Alert>
  );
}

export function App() {
  const { path, params } = useRoute();
  const { user, setUser } = useApp();
  const [logoutError, setLogoutError] = useState<string>();
  const [menuOpen, setMenuOpen] = useState(false);

  const onLogout = async () => {
    setLogoutError(undefined);
    try {
      await logout();
      setUser(null);
      navigate('/');
    } catch (e) {
      setLogoutError((e as Error).message);
    }
  };

  return (
    <>
      <a className="skip-link" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to content
      </a>
      <header className="topbar">
        <a className="brand" href={href('/')}>
          <span className="brand-mark" aria-hidden="true" />
          The Witness
        </a>
        <button type="button" className="menu-toggle" aria-expanded={menuOpen} aria-controls="main-nav" onClick={() => setMenuOpen((o) => !o)}>
          Menu
        </button>
        <nav id="main-nav" aria-label="Main" className={menuOpen ? 'open' : ''}>
          <ul>
            {NAV.map(([to, label]) => {
              const active = path === to || (to !== '/' && path.startsWith(to + '/'));
              return (
                <li key={to}>
                  <a href={href(to)} aria-current={active ? 'page' : undefined} onClick={() => setMenuOpen(false)}>
                    {label}
                  </a>
                </li>
              );
            })}
          </ul>
          <div className="account">
            {user ? (
              <>
                <span className="muted" data-testid="signed-in-as">
                  Signed in as <strong>{user.username}</strong>
                </span>
                <button type="button" className="button secondary small" onClick={onLogout}>
                  Log out
                </button>
              </>
            ) : user === null ? (
              <>
                <a className="button secondary small" href={href('/login')}>
                  Log in
                </a>
                <a className="button small" href={href('/signup')}>
                  Sign up
                </a>
              </>
            ) : null}
          </div>
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        {logoutError && <Alert title="Could not log out">{logoutError}</Alert>}
        {page(path, params)}
      </main>
      <footer className="footer muted">
        Readings are sealed by the device and judged by a Cartesi rollup; verdicts are decided in your browser from what the chain proves.
      </footer>
    </>
  );
}
