import { offDomainText, REAL_PHOTO_COMMAND } from '../packDomain';
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
        {remedy} Today that is <code>{REAL_PHOTO_COMMAND}</code>, then choose it under Model pack.
      </p>
    </div>
  );
}
