#!/usr/bin/env bash
# Issue 15 item 1, measured not guessed: short VAE runs of each candidate base-model scale from
# the same seed and shard recipe, with the held-out reconstruction PSNR after every segment.
# Segments are `train base --resume` continuations (bit for bit the same as one run).
#   bash tools/measure-vae-scaling.sh RUN_DIR "STEPS…" CONFIG…
# CONFIG is name:imageSize:vaeBlocks:latentChannels, e.g. l16c4:64:16,32,32:4.
# Writes RUN_DIR/<name>/curve.jsonl (one vae-psnr line per segment, label = steps) and the
# training logs; RUN_DIR/data-<size>/ holds the shards.
set -euo pipefail
cd "$(dirname "$0")/.."
main() {
local RUN=$1 STEPS=$2; shift 2
HB="npx hyperbooth"
mkdir -p "$RUN"

shards() { # size
  local d="$RUN/data-$1"
  [ -f "$d/train.json" ] || $HB dataset --out "$d" --split train --ids 200 --photos 4 --styles all --size "$1" >&2
  # held-out people of world 0: never in a train shard (src/dataset/splits.ts)
  [ -f "$d/heldout.json" ] || $HB dataset --out "$d" --split heldout --ids 32 --photos 1 --styles all --size "$1" >&2
}

for cfg in "$@"; do
  IFS=: read -r name size blocks channels <<< "$cfg"
  shards "$size"
  dir="$RUN/$name"
  [ -d "$dir/init" ] || $HB make-tiny-pack --out "$dir/init" --no-index --image-size "$size" --vae-blocks "$blocks" --latent-channels "$channels" > "$dir.init.log"
  [ -f "$dir/curve.jsonl" ] || $HB vae-psnr --pack "$dir/init" --data "$RUN/data-$size" --json "$dir/curve.jsonl" --label 0
  for s in $STEPS; do
    if [ -f "$dir/curve.jsonl" ] && grep -q "\"label\":\"$s\"" "$dir/curve.jsonl"; then continue; fi
    t0=$(date +%s.%N)
    $HB train base --pack "$dir/init" --data "$RUN/data-$size" --out "$dir/vae" --parts vae --steps "$s" --checkpoint-every 250 --threads 1 --resume --quiet
    echo "{\"config\":\"$cfg\",\"steps\":$s,\"seconds\":$(echo "$(date +%s.%N) - $t0" | bc)}" >> "$dir/segments.jsonl"
    $HB vae-psnr --pack "$dir/vae/pack" --data "$RUN/data-$size" --json "$dir/curve.jsonl" --label "$s"
  done
done
}
main "$@"; exit
