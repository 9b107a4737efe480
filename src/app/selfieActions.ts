// Upload and crop: the photo goes to the worker (decode, EXIF, shrink, face detection) and
// comes back with a first crop the person can move and zoom.
import { errorText } from './actions';
import { startingCrop } from './packCropStart';
import { useAppStore } from './store';
import { getWorkerClient } from './workerClient';

/** Larger files are refused before reading them: no phone photo comes close. */
export const MAX_SELFIE_BYTES = 60 * 1024 * 1024;

export async function chooseSelfie(file: File): Promise<void> {
  const store = useAppStore.getState();
  if (store.task) return;
  store.setError(null);
  store.setWarning(null);
  if (file.size === 0) {
    store.setError(`${file.name} is empty: choose a JPEG, PNG or WebP photo.`);
    return;
  }
  if (file.size > MAX_SELFIE_BYTES) {
    store.setError(`${file.name} is ${(file.size / 1e6).toFixed(0)} MB; choose a photo under ${MAX_SELFIE_BYTES / 1024 / 1024} MB.`);
    return;
  }
  store.setTask('selfie');
  try {
    const prepared = await getWorkerClient().prepareSelfie(file);
    const s = useAppStore.getState();
    // the square starts where the pack wants it (Reset comes back here)
    const crop = startingCrop(s.pack.crop ?? 'face', prepared.crop, prepared);
    s.setSelfie({ ...prepared, crop, fileName: file.name, current: { ...crop }, confirmed: false });
    // The last run's chart belonged to the old photo.
    if (s.run) s.setRun(null);
  } catch (e) {
    // The previous photo (if any) stays: a bad file must not throw away a good crop.
    useAppStore.getState().setError(`Could not use ${file.name}: ${errorText(e)}`);
  } finally {
    useAppStore.getState().setTask(null);
  }
}
