import { offDomainText, REAL_PHOTO_BUTTON, REAL_PHOTO_COMMAND } from '../packDomain';
import { useAppStore } from '../store';

/**
 * Said where it matters: a pack trained only on synthetic portraits cannot make a real person
 * look like themselves, and the way to get one that can.
 */
export function OffDomainNote({ where }: { where: 'personalize' | 'results' }) {
  const syntheticOnly = useAppStore((s) => s.pack.phase === 'ready' && s.pack.syntheticOnly === true);
  if (!syntheticOnly) return null;
  const { headline, remedy } = offDomainText(where);
  return (
    <div className="notice notice-warn off-domain" role="note" data-testid={`off-domain-${where}`}>
      <p className="off-domain-headline">{headline}</p>
      <p className="off-domain-remedy">
        {remedy} In this page: <strong>{REAL_PHOTO_BUTTON}</strong> under Model pack converts it here, in the browser. For a site that serves the
        pack: <code>{REAL_PHOTO_COMMAND}</code>.
      </p>
    </div>
  );
}
