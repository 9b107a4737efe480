import { BackendBadge } from './components/BackendBadge';
import { ErrorBanner } from './components/ErrorBanner';
import { Gallery } from './components/Gallery';
import { PackStatus } from './components/PackStatus';
import { PromptForm } from './components/PromptForm';
import { useStartup } from './hooks/useStartup';

export function App() {
  useStartup();
  return (
    <div className="app">
      <header className="app-header">
        <div className="brand">
          <span className="logo" aria-hidden="true" />
          <div>
            <h1>HyperBooth</h1>
            <p className="tagline">HyperDreamBooth in your browser. Nothing leaves this machine.</p>
          </div>
        </div>
        <div className="header-status">
          <PackStatus />
          <BackendBadge />
        </div>
      </header>
      <ErrorBanner />
      <main className="layout">
        <PromptForm />
        <Gallery />
      </main>
    </div>
  );
}
