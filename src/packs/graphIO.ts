// The input/output names of a pack's graphs: the contract between the pack format (what the
// packer writes and the manifest lists) and everything that runs the graphs. Forward graphs use
// diffusers' ONNX export names; the fine-tune's train graphs add their own.

/** Graph input/output names every pack uses (diffusers' ONNX export names). */
export const IO = {
  textEncoder: { input: 'input_ids', output: 'last_hidden_state' },
  unet: { sample: 'sample', timestep: 'timestep', context: 'encoder_hidden_states', output: 'out_sample' },
  vaeDecoder: { input: 'latent_sample', output: 'sample' },
  vaeEncoder: { input: 'sample', output: 'latent_parameters' },
} as const;

/** The hypernetwork's face pixels in and its LiDB rows out (one row per LoRA layer, aMax/bMax wide). */
export const HYPERNET_IO = { input: 'pixel_values', down: 'lidb_down', up: 'lidb_up' } as const;

/** Input/output names of the train graphs (manifest "train"), beyond the forward graphs' own (IO). */
export const TRAIN_IO = {
  /** UNet train step: the regression target (ε for an epsilon-prediction UNet) and the scalar loss */
  target: 'target',
  loss: 'loss',
  /** UNet train step output: ∂loss/∂encoder_hidden_states */
  contextGrad: 'encoder_hidden_states_grad',
  /** text-encoder VJP input: the upstream gradient of last_hidden_state */
  textSeed: 'last_hidden_state_grad',
} as const;

/** `${input}_grad`: how the autodiff names the gradient output of a graph input. */
export const gradName = (input: string): string => `${input}_grad`;
