import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.js';
import { restoreSession } from './api/session.js';
import './styles.css';

const root = document.getElementById('root');
if (root) {
  // A token this tab remembered is checked with the server before the first page renders.
  void restoreSession().finally(() =>
    createRoot(root).render(
      <StrictMode>
        <App />
      </StrictMode>,
    ),
  );
}
