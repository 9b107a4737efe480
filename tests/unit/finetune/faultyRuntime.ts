// A Runtime around a real one whose UNet train-step graph reports a NaN loss on its Nth run, as
// a broken backend would: the fault enters below the fine-tune, through the one interface it
// runs on, so the code under test is the code the app runs.
import { TRAIN_IO } from '../../../src/packs/graphIO';
import type { Runtime, Session } from '../../../src/runtime/types';

export function nanLossOnRun(inner: Runtime, n: number): Runtime {
  let runs = 0;
  return {
    backend: inner.backend,
    async createSession(source) {
      const session = await inner.createSession(source);
      if (!session.outputNames.includes(TRAIN_IO.loss)) return session;
      const faulty: Session = {
        inputNames: session.inputNames,
        outputNames: session.outputNames,
        async run(feeds, outputs) {
          const out = await session.run(feeds, outputs);
          if (++runs !== n) return out;
          const loss = out[TRAIN_IO.loss];
          return { ...out, [TRAIN_IO.loss]: { ...loss, data: new Float32Array(loss.data.length).fill(Number.NaN) } };
        },
        release: () => session.release(),
      };
      return faulty;
    },
  };
}
