import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { AppProvider, acceptPinLink } from './lib/app';
import './styles.css';

// A pin link (`#pin=…`) is taken before the first render, so the router starts on its target.
acceptPinLink();

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <AppProvider>
        <App />
      </AppProvider>
    </StrictMode>,
  );
}
