// The stepper Upload → Crop → Personalize → Styles → Download, derived from the app state so
// it can never disagree with what is on screen. Reached steps stay visible; the stepper only
// says which one is current.
export const STEPS = [
  { id: 'upload', label: 'Upload' },
  { id: 'crop', label: 'Crop' },
  { id: 'personalize', label: 'Personalize' },
  { id: 'styles', label: 'Styles' },
  { id: 'download', label: 'Download' },
] as const;

export type StepId = (typeof STEPS)[number]['id'];
export type StepState = 'done' | 'current' | 'open' | 'locked';

export interface FlowFacts {
  hasSelfie: boolean;
  cropConfirmed: boolean;
  personalizing: boolean;
  /** a personalization is active in the worker */
  personalized: boolean;
  /** images were made with the active personalization */
  personalImages: boolean;
  /** a file of the active personalization was downloaded */
  downloaded: boolean;
}

export function currentStep(f: FlowFacts): StepId {
  if (f.personalizing) return 'personalize';
  // A new photo waiting for its crop is what the person is doing now, even with weights active.
  if (f.hasSelfie && !f.cropConfirmed) return 'crop';
  if (f.personalized) return f.personalImages && !f.downloaded ? 'download' : 'styles';
  if (!f.hasSelfie) return 'upload';
  if (!f.cropConfirmed) return 'crop';
  return 'personalize';
}

function reached(id: StepId, f: FlowFacts): boolean {
  switch (id) {
    case 'upload':
      return true;
    case 'crop':
      return f.hasSelfie;
    case 'personalize':
      return (f.hasSelfie && f.cropConfirmed) || f.personalized || f.personalizing;
    case 'styles':
    case 'download':
      return f.personalized;
  }
}

function done(id: StepId, f: FlowFacts): boolean {
  switch (id) {
    case 'upload':
      // weights from the library (or restored after a reload) come without a photo on screen:
      // a tick here would contradict the empty upload box
      return f.hasSelfie;
    case 'crop':
      return f.cropConfirmed;
    case 'personalize':
      return f.personalized && !f.personalizing;
    case 'styles':
      return f.personalImages;
    case 'download':
      return f.downloaded;
  }
}

export function stepStates(f: FlowFacts): Record<StepId, StepState> {
  const current = currentStep(f);
  const out = {} as Record<StepId, StepState>;
  for (const { id } of STEPS) {
    out[id] = id === current ? 'current' : !reached(id, f) ? 'locked' : done(id, f) ? 'done' : 'open';
  }
  return out;
}
