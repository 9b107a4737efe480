#!/usr/bin/env python3
"""Issue 12 item 7, the PyTorch side (tools/gpu/run-gpu-bench.sh runs it after gpuBench.ts, on the
same card): SD1.5's UNet (tools/fixtures/make_sd_fixtures.py SD15_UNET), CLIP-L's text encoder and
SD1.5's VAE decoder, random weights, float16 on CUDA (float32 on a CPU dry run).

personalization: `steps` fine-tune steps at batch 1 (text encoder forward, UNet forward, MSE,
backward to rank-4 LoRA factors on the UNet's 128 attention projections, Adam), after one untimed
warm-up step. generation: the text encoder on 2 prompts, `gen-steps` UNet calls at CFG batch 2,
the VAE decoder, after one untimed UNet call. GPU memory: torch.cuda.max_memory_reserved per
phase. Differences from ours: no hypernetwork and no text-encoder LoRA here (PyTorch is the
reference for the UNet's cost, which dominates). Prints one JSON line.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))

SD15_TEXT = {"hidden": 768, "heads": 12, "intermediate": 3072, "layers": 12, "max_position": 77}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--image-size", type=int, default=512)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--gen-steps", type=int, default=25)
    ap.add_argument("--device", default="auto")
    a = ap.parse_args()
    import warnings
    warnings.filterwarnings("ignore")
    import torch
    from make_sd_fixtures import SD15_UNET, text_encoder, unet_model, vae_model
    from make_bench_unet import add_lora

    dev = torch.device("cuda" if (a.device == "auto" and torch.cuda.is_available()) or a.device == "cuda" else "cpu")
    dtype = torch.float16 if dev.type == "cuda" else torch.float32
    latent = a.image_size // 8
    sd15_vae = {"block_out_channels": [128, 256, 512, 512], "layers_per_block": 2, "latent_channels": 4,
                "norm_num_groups": 32, "image_size": a.image_size, "scaling_factor": 0.18215}
    sync = (lambda: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda: None)
    mem = (lambda: torch.cuda.max_memory_reserved()) if dev.type == "cuda" else (lambda: 0)

    t0 = time.perf_counter()
    unet = unet_model({**SD15_UNET, "sample_size": latent}, 1)
    layers = add_lora(unet, 4)
    unet = unet.to(dev, dtype)
    for m in unet.modules():
        if hasattr(m, "down"):   # LoRA factors stay float32, as ours
            m.down.float(); m.up.float()
    te = text_encoder(SD15_TEXT, 49408, 2).to(dev, dtype)
    build_s = time.perf_counter() - t0

    def lora_forward(mod, x):
        return mod.base(x) + mod.up(mod.down(x.float())).to(x.dtype)
    for m in unet.modules():
        if type(m).__name__ == "LoRALinear":
            m.forward = lora_forward.__get__(m)

    lora = [p for p in unet.parameters() if p.requires_grad]
    opt = torch.optim.Adam(lora, lr=1e-3)
    ids = torch.tensor([[320 + i if i < 6 else 49407 for i in range(77)]], device=dev)
    sample = torch.randn(1, 4, latent, latent, device=dev, dtype=dtype)
    target = torch.randn(1, 4, latent, latent, device=dev, dtype=torch.float32)
    scaler = torch.cuda.amp.GradScaler() if dev.type == "cuda" and hasattr(torch.cuda, "amp") else None

    def step(k):
        with torch.no_grad():
            c = te(ids)
            c = c[0] if isinstance(c, (tuple, list)) else c
        out = unet(sample, torch.tensor([500.0 + k], device=dev, dtype=dtype), c)
        loss = torch.mean((out.float() - target) ** 2)
        opt.zero_grad(set_to_none=True)
        if scaler:
            scaler.scale(loss).backward(); scaler.step(opt); scaler.update()
        else:
            loss.backward(); opt.step()
        return loss.item()

    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    step(0); sync()
    t = time.perf_counter()
    losses = [step(k) for k in range(1, a.steps + 1)]
    sync()
    personalization_s = time.perf_counter() - t
    ft_mem = mem()

    del opt
    vae = vae_model(sd15_vae, 3).to(dev, dtype)
    if dev.type == "cuda":
        torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
    ids2 = ids.repeat(2, 1)
    with torch.no_grad():
        lat = torch.randn(1, 4, latent, latent, device=dev, dtype=dtype)
        c = te(ids2); c = c[0] if isinstance(c, (tuple, list)) else c
        unet(lat.repeat(2, 1, 1, 1), torch.tensor([999.0, 999.0], device=dev, dtype=dtype), c); sync()
        t = time.perf_counter()
        c = te(ids2); c = c[0] if isinstance(c, (tuple, list)) else c
        for k in range(a.gen_steps):
            eps = unet(lat.repeat(2, 1, 1, 1), torch.tensor([999.0 - 40 * k] * 2, device=dev, dtype=dtype), c)
            lat = lat - 0.02 * (eps[:1] + 7.5 * (eps[1:] - eps[:1]))
        img = vae.decoder(vae.post_quant_conv(lat))
        sync()
        generation_s = time.perf_counter() - t
    print(json.dumps({
        "device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu", "dtype": str(dtype), "torch": torch.__version__,
        "imageSize": a.image_size, "steps": a.steps, "genSteps": a.gen_steps, "loraLayers": layers, "buildS": round(build_s, 2),
        "personalizationMs": round(personalization_s * 1000, 1), "generationMs": round(generation_s * 1000, 1),
        "fineTuneGpuMemoryBytes": ft_mem, "generationGpuMemoryBytes": mem(),
        "firstLoss": losses[0] if losses else None, "lastLoss": losses[-1] if losses else None,
        "imageFinite": bool(torch.isfinite(img.float()).all().item()),
    }))


if __name__ == "__main__":
    main()
