import { useAppStore } from '../store';
import { stepStates, type FlowFacts, type StepId, type StepState } from '../steps';

/** The stepper's view of the store (shallow facts, so components re-render only when a fact changes). */
export function useFlowFacts(): FlowFacts {
  const hasSelfie = useAppStore((s) => s.selfie !== null);
  const cropConfirmed = useAppStore((s) => s.selfie?.confirmed ?? false);
  const personalizing = useAppStore((s) => s.task === 'personalize');
  const personalized = useAppStore((s) => s.active !== null);
  // after a reload the kept images of the active personalization count as made with it
  const personalImages = useAppStore(
    (s) => s.personalImages || (s.active?.id !== undefined && s.gallery.some((g) => g.personalizationId === s.active?.id)),
  );
  const downloaded = useAppStore((s) => s.downloaded);
  return { hasSelfie, cropConfirmed, personalizing, personalized, personalImages, downloaded };
}

export function useStepStates(): Record<StepId, StepState> {
  return stepStates(useFlowFacts());
}

export const stepSectionId = (id: StepId) => `step-${id}`;
