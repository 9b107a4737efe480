#!/usr/bin/env bash
# Rebuilds the embedded pack the way public/models/tiny was made: the random-weight tiny pack,
# a synthetic training shard, the base model (VAE, then UNet + text encoder at a measured latent
# scale), θ* for every training identity, the hypernetwork. Every stage checkpoints, so a
# killed run continues where it stopped when started again with the same RUN_DIR.
#   bash tools/train-tiny-pack.sh [RUN_DIR] [--install]
# --install copies the result to public/models/tiny (with training.json) and lists it in
# public/models/index.json.
set -euo pipefail
cd "$(dirname "$0")/.."

RUN=${1:-runs/tiny}
INSTALL=${2:-}
HB="npx hyperbooth"
mkdir -p "$RUN"
STAGES="$RUN/stages.jsonl"
: > "$STAGES"

stage() { # name, command…
  local name=$1; shift
  local t0=$SECONDS
  echo "== $name: $*" >&2
  "$@"
  printf '{"stage":"%s","command":"%s","seconds":%d}\n' "$name" "$*" $((SECONDS - t0)) >> "$STAGES"
}
resume_flag() { [ -d "$1/checkpoints" ] && echo --resume || true; }

stage make-tiny-pack $HB make-tiny-pack --out "$RUN/init" --no-index
stage dataset $HB dataset --out "$RUN/data" --split train --ids 200 --photos 4 --styles all --size 64
stage "base (vae)" $HB train base --pack "$RUN/init" --data "$RUN/data" --out "$RUN/vae" --parts vae --steps 6000 --checkpoint-every 250 $(resume_flag "$RUN/vae") --quiet
stage "base (unet)" $HB train base --pack "$RUN/vae/pack" --data "$RUN/data" --out "$RUN/unet" --parts unet --latent-scale auto --steps 30000 --checkpoint-every 1000 $(resume_flag "$RUN/unet") --quiet
stage lidb $HB train lidb --pack "$RUN/unet/pack" --data "$RUN/data" --out "$RUN/theta" --steps 300 --quiet
stage hypernet $HB train hypernet --pack "$RUN/unet/pack" --data "$RUN/data" --targets "$RUN/theta" --out "$RUN/hyper" --steps 15000 --beta 10 --checkpoint-every 500 $(resume_flag "$RUN/hyper") --quiet

if [ "$INSTALL" = "--install" ]; then
  rm -rf public/models/tiny
  cp -r "$RUN/hyper/pack" public/models/tiny
  node -e '
    const fs = require("fs"), crypto = require("crypto");
    const [stagesPath, out] = process.argv.slice(1);
    const manifest = fs.readFileSync("public/models/tiny/manifest.json");
    const m = JSON.parse(manifest);
    const stages = fs.readFileSync(stagesPath, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const sha256 = crypto.createHash("sha256").update(manifest).digest("hex");
    fs.writeFileSync(out, JSON.stringify({ manifestSha256: sha256, name: m.name, description: m.description, stages }, null, 2) + "\n");
    const indexPath = "public/models/index.json";
    const index = JSON.parse(fs.readFileSync(indexPath, "utf8"));
    const size = m.files.reduce((a, f) => a + f.size, 0) + manifest.length;
    index.packs = index.packs.map((p) => (p.id === "tiny" ? { id: "tiny", path: "tiny/manifest.json", name: m.name, size } : p));
    fs.writeFileSync(indexPath, JSON.stringify(index, null, 2) + "\n");
  ' "$STAGES" public/models/tiny/training.json
  echo "installed $RUN/hyper/pack as public/models/tiny" >&2
fi
