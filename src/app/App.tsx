import { BackendBadge } from './components/BackendBadge';
import { CropCard } from './components/CropCard';
import { ErrorBanner } from './components/ErrorBanner';
import { Gallery } from './components/Gallery';
import { LibraryCard } from './components/LibraryCard';
import { PackStatus } from './components/PackStatus';
import { PackPicker } from './components/PackPicker';
import { PersonalizeCard } from './components/PersonalizeCard';
import { PromptForm } from './components/PromptForm';
import { Stepper } from './components/Stepper';
import { UploadCard } from './components/UploadCard';
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
      <Stepper />
      <ErrorBanner />
      <main className="layout">
        <div className="column column-flow">
          <UploadCard />
          <CropCard />
          <PersonalizeCard />
          <LibraryCard />
          <PackPicker />
        </div>
        <div className="column column-create">
          <PromptForm />
          <Gallery />
        </div>
      </main>
    </div>
  );
}
