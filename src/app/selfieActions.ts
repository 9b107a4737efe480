// Upload and crop: the photo goes to the worker (decode, EXIF, shrink, face detection) and
// comes back with a first crop the person can move and zoom.
import { startingCrop } from './packCropStart';
import { useAppStore } from './store';
import { runTask } from './taskRunner';
import { getWorkerClient } from './workerClient';

/** Larger files are refused before reading them: no phone photo comes close. */
export const MAX_SELFIE_BYTES = 60 * 1024 * 1024;

/** Why a file is refused before reading it, when it is. */
function selfieRefusal(file: File): string | undefined {
  if (file.size === 0) return `${file.name} is empty: choose a JPEG, PNG or WebP photo.`;
  if (file.size > MAX_SELFIE_BYTES) return `${file.name} is ${(file.size / 1e6).toFixed(0)} MB; choose a photo under ${MAX_SELFIE_BYTES / 1024 / 1024} MB.`;
  return undefined;
}

export async function chooseSelfie(file: File): Promise<void> {
  // a failure keeps the previous photo (if any): a bad file must not throw away a good crop
  await runTask('selfie', { failure: (why) => `Could not use ${file.name}: ${why}`, refusal: selfieRefusal(file), clearWarning: true }, async () => {
    const prepared = await getWorkerClient().prepareSelfie(file);
    const s = useAppStore.getState();
    // the square starts where the pack wants it (Reset comes back here)
    const crop = startingCrop(s.pack.crop ?? 'face', prepared.crop, prepared);
    s.setSelfie({ ...prepared, crop, fileName: file.name, current: { ...crop }, confirmed: false });
    // The last run's chart belonged to the old photo.
    if (s.run) s.setRun(null);
  });
}
