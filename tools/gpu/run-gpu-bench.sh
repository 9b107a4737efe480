#!/usr/bin/env bash
# Issue 12 item 7: SD1.5 at 512 px on a lent GPU machine, ours (onnxruntime-node, WebGPU EP over
# Vulkan: tools/gpu/gpuBench.ts) against PyTorch on the same card (tools/gpu/torch_gpu.py):
# personalization (hypernetwork + 40 fine-tune steps), 25-step generation, GPU memory per phase.
# Targets (H200): personalization <= 20 s, generation <= 3 s, fine-tune GPU memory <= 4 GiB.
#
#   tools/gpu/run-gpu-bench.sh --bundle     here, once: .gpu/ = node (xz), gpuBench.mjs (esbuild),
#                                           onnxruntime-node, the Vulkan/EGL loader .debs
#   tools/gpu/run-gpu-bench.sh              on the GPU machine (device `run`, carry [".gpu"]),
#                                           writes $OUT/gpu-bench.json, within 8 minutes
#   tools/gpu/run-gpu-bench.sh --dry-run [--out DIR]
#                                           here, on the CPU: the same flow at 64 px, 2 fine-tune
#                                           and 2 generation steps, CPU EP, float32, torch on CPU
#
# The device tool sends the session's main checkout: copy tools/ and .gpu/ into a folder of that
# checkout that .git/info/exclude ignores, and name it in carry (device README, Notes).
set -euo pipefail
cd "$(dirname "$0")/../.."
MODE=device
OUTDIR="${OUT:-.gpu/out}"
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) MODE=bundle ;;
    --dry-run) MODE=dry ;;
    --out) OUTDIR="$2"; shift ;;
    *) echo "run-gpu-bench: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$OUTDIR"
START=$(date +%s)

if [ "$MODE" = bundle ]; then
  rm -rf .gpu && mkdir -p .gpu/node_modules .gpu/gl
  node_modules/.bin/esbuild tools/gpu/gpuBench.ts --bundle --platform=node --format=esm --target=node20 \
    --external:onnxruntime-node --outfile=.gpu/gpuBench.mjs --log-level=warning
  for p in onnxruntime-node onnxruntime-common; do cp -r "node_modules/$p" .gpu/node_modules/; done
  # only linux x64's native files travel, compressed (the tree that travels is at most 64 MiB)
  find .gpu/node_modules/onnxruntime-node/bin -mindepth 3 -maxdepth 3 -type d ! -path '*/linux/x64' -exec rm -rf {} +
  xz -6 -T0 .gpu/node_modules/onnxruntime-node/bin/napi-v*/linux/x64/libonnxruntime.so.1
  xz -6 -T0 -c "$(command -v node)" > .gpu/node.xz
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  mkdir -p /tmp/amd64/partial
  # shellcheck disable=SC2086
  apt-get $o update -qq && (cd .gpu/gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
  du -sh .gpu
  exit 0
fi

if [ "$MODE" = dry ]; then
  NODE=(npx tsx tools/gpu/gpuBench.ts)
  # the graphs a previous dry run wrote are reused (writing 3.4 GB of float32 takes minutes on a loaded 2-core machine)
  OURS_ARGS=(--ep cpu --image-size 64 --steps 2 --gen-steps 2 --dtype float32 --work "$OUTDIR/work" --reuse)
  OURS_LIMIT=900
  TORCH_ARGS=(--image-size 64 --steps 2 --gen-steps 2 --device cpu)
  PY=/usr/bin/python3
else
  for f in .gpu/gl/*.deb; do dpkg -x "$f" /; done; ldconfig
  if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  fi
  xz -dc .gpu/node.xz > /tmp/node && chmod +x /tmp/node
  for f in .gpu/node_modules/onnxruntime-node/bin/napi-v*/linux/x64/*.xz; do [ -f "$f" ] && xz -d "$f"; done
  NODE=(/tmp/node .gpu/gpuBench.mjs)
  OURS_ARGS=(--ep webgpu --image-size 512 --steps 40 --gen-steps 25 --dtype float16 --work /tmp/gpu-work)
  TORCH_ARGS=(--image-size 512 --steps 40 --gen-steps 25)
  OURS_LIMIT=330
  PY=python3
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$OUTDIR/card.txt" || true
fi

SAMPLER=
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=timestamp,memory.used --format=csv,noheader,nounits -lms 50 > "$OUTDIR/smi.csv" &
  SAMPLER=$!
fi
status=0
# 8 minutes in all on the device: ours gets 5.5 (graph build, sessions, 41 steps, 26 UNet calls), PyTorch 2
timeout "$OURS_LIMIT" "${NODE[@]}" "${OURS_ARGS[@]}" > "$OUTDIR/ours.json" 2> "$OUTDIR/ours.log" || { status=$?; echo "ours failed ($status): $(tail -5 "$OUTDIR/ours.log")" >&2; }
timeout 120 "$PY" tools/gpu/torch_gpu.py "${TORCH_ARGS[@]}" > "$OUTDIR/torch.json" 2> "$OUTDIR/torch.log" || { s=$?; echo "torch failed ($s): $(tail -5 "$OUTDIR/torch.log")" >&2; }
[ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null || true

"$PY" - "$OUTDIR" "$MODE" "$START" <<'PY'
import csv, datetime, json, os, sys, time
out, mode, start = sys.argv[1], sys.argv[2], int(sys.argv[3])
def load(name):
    try:
        with open(os.path.join(out, name)) as f:
            lines = [l for l in f.read().splitlines() if l.startswith("{")]
            return json.loads(lines[-1]) if lines else None
    except OSError:
        return None
ours, torch = load("ours.json"), load("torch.json")
samples = []
try:
    with open(os.path.join(out, "smi.csv")) as f:
        for row in csv.reader(f):
            ts = datetime.datetime.strptime(row[0].strip(), "%Y/%m/%d %H:%M:%S.%f").timestamp() * 1000
            samples.append((ts, float(row[1]) * 2**20))
except (OSError, ValueError, IndexError):
    pass
def peak(a, b):
    vals = [m for t, m in samples if a <= t <= b]
    return max(vals) if vals else None
result = {"mode": mode, "card": open(os.path.join(out, "card.txt")).read().strip() if os.path.exists(os.path.join(out, "card.txt")) else None,
          "ours": ours, "pytorch": torch, "wallS": int(time.time()) - start}
if ours and samples:
    m = ours["marks"]
    base = min(m for _, m in samples[:5]) if samples else 0
    result["oursGpuMemoryBytes"] = {"fineTune": peak(m["personalizationSessionsStart"], m["personalizationEnd"]),
                                    "generation": peak(m["generationSessionsStart"], m["generationEnd"]), "idleBefore": base}
with open(os.path.join(out, "gpu-bench.json"), "w") as f:
    json.dump(result, f, indent=2)
def row(label, o, t, target):
    fmt = lambda v: "-" if v is None else f"{v:.2f}"
    print(f"{label:34s} ours {fmt(o):>8s}   pytorch {fmt(t):>8s}   target {target}")
g = lambda d, k, s=1.0: None if not d or d.get(k) is None else d[k] / s
print(f"\n{mode} run, {result['card'] or 'no GPU'}, {result['wallS']} s in all")
n = (ours or torch or {})
row(f"personalization, {n.get('steps', '?')} steps (s)", g(ours, "personalizationMs", 1000), g(torch, "personalizationMs", 1000), "<= 20 s (40 steps)")
row(f"generation, {n.get('genSteps', '?')} steps (s)", g(ours, "generationMs", 1000), g(torch, "generationMs", 1000), "<= 3 s (25 steps)")
om = result.get("oursGpuMemoryBytes") or {}
row("fine-tune GPU memory (GiB)", None if om.get("fineTune") is None else om["fineTune"] / 2**30, g(torch, "fineTuneGpuMemoryBytes", 2**30), "<= 4 GiB")
row("generation GPU memory (GiB)", None if om.get("generation") is None else om["generation"] / 2**30, g(torch, "generationGpuMemoryBytes", 2**30), "")
print(f"wrote {os.path.join(out, 'gpu-bench.json')}")
PY
exit $status
