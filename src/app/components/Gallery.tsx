import { useAppStore, type GalleryItem } from '../store';
import { OffDomainNote } from './OffDomainNote';
import { clearKeptImages } from '../galleryPersistence';

function GalleryCard({ item }: { item: GalleryItem }) {
  const setSettings = useAppStore((s) => s.setSettings);
  // Tiny packs make 64×64 images: keep their pixels crisp when shown larger.
  const pixelated = item.width < 256;
  return (
    <figure className="gallery-card">
      <img
        data-testid="gallery-image"
        src={item.url}
        width={item.width}
        height={item.height}
        alt={item.prompt}
        className={pixelated ? 'pixelated' : undefined}
      />
      <figcaption>
        {(item.label || item.personalization) && (
          <p className="gallery-tags">
            {item.label && <span className="tag">{item.label}</span>}
            {item.personalization && <span className="tag tag-personal" title="made with this personalization">{item.personalization}</span>}
          </p>
        )}
        <p className="gallery-prompt" title={item.prompt}>
          {item.prompt}
        </p>
        {item.truncatedNote && <p className="gallery-note">{item.truncatedNote}</p>}
        <div className="gallery-actions">
          <button type="button" className="link-button" onClick={() => setSettings({ seed: String(item.seed) })}>
            seed {item.seed}
          </button>
          <a href={item.url} download={item.fileName} data-testid="download" className="download">
            Download PNG
          </a>
        </div>
      </figcaption>
    </figure>
  );
}

/** Results, newest first; the newest 12 are kept in this browser across reloads. */
export function Gallery() {
  const gallery = useAppStore((s) => s.gallery);
  return (
    <section className="gallery-section" aria-label="Gallery">
      <div className="gallery-head">
        <h2>Gallery</h2>
        {gallery.length > 0 && (
          <button type="button" className="link-button" onClick={clearKeptImages}>
            Clear
          </button>
        )}
      </div>
      {gallery.some((item) => item.personalization) && <OffDomainNote where="results" />}
      {gallery.length === 0 ? (
        <p className="gallery-empty">Your images appear here. They are made on this machine and never uploaded.</p>
      ) : (
        <div className="gallery" data-testid="gallery">
          {gallery.map((item) => (
            <GalleryCard key={item.key} item={item} />
          ))}
        </div>
      )}
    </section>
  );
}
