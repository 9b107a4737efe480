#!/usr/bin/python3
"""The PyTorch side of `npm run bench -- sd15`: Stable Diffusion 1.5's UNet (make_sd_fixtures.py's
SD15_UNET: 320/640/1280/1280, 2 layers per block, 8 heads, cross-attention 768; random weights)
at a given image size, with rank-4 LoRA adapters on every attention projection (to_q, to_k,
to_v, to_out.0: 128 layers, the pack's), base weights frozen. Batch 1, 77 text tokens.

    /usr/bin/python3 tools/bench/sd15_torch.py forward|step --image-size 256 [--iters 3] [--threads 2]

forward: one UNet call under no_grad. step: the fine-tune's step as the pack's train graph
computes it: forward, mean squared error against a target, gradients w.r.t. every LoRA factor
and the text context. One process per mode (the caller runs them one after the other); one
warm-up, then the median of `iters`; peak RSS = ru_maxrss. Prints one JSON line.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["forward", "step"])
    ap.add_argument("--image-size", type=int, default=256)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rank", type=int, default=4)
    a = ap.parse_args()
    import warnings
    warnings.filterwarnings("ignore")
    import torch
    torch.set_num_threads(a.threads)
    from make_sd_fixtures import SD15_UNET, unet_model
    from make_bench_unet import add_lora, loaded_blas

    latent = a.image_size // 8
    cfg = {**SD15_UNET, "sample_size": latent}
    model = unet_model(cfg, 1)
    layers = add_lora(model, a.rank)
    g = torch.Generator().manual_seed(1)
    sample = torch.randn(1, 4, latent, latent, generator=g)
    timestep = torch.tensor([500.0])
    text = torch.randn(1, 77, 768, generator=g)
    target = torch.randn(1, 4, latent, latent, generator=g)
    lora = [p for p in model.parameters() if p.requires_grad]

    def run():
        if a.mode == "forward":
            with torch.no_grad():
                model(sample, timestep, text)
            return
        c = text.clone().requires_grad_(True)
        loss = torch.mean((model(sample, timestep, c) - target) ** 2)
        grads = torch.autograd.grad(loss, lora + [c])
        assert len(grads) == len(lora) + 1

    run()
    times, cpu = [], []
    for _ in range(a.iters):
        t0, c0 = time.perf_counter(), time.process_time()
        run()
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    print(json.dumps({
        "mode": a.mode, "imageSize": a.image_size, "times_ms": [round(t, 1) for t in times],
        "median_ms": round(statistics.median(times), 1), "cpu_median_ms": round(statistics.median(cpu), 1),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "lora_layers": layers, "threads": torch.get_num_threads(), "torch": torch.__version__, "blas": loaded_blas(),
    }))


if __name__ == "__main__":
    main()
