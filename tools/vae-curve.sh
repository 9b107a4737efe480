#!/usr/bin/env bash
# The held-out PSNR curve of a running (or finished) `train base --parts vae` stage, from its
# checkpoints: every checkpoint not yet measured is scored and appended to STAGE_DIR/psnr.jsonl
# (one `hyperbooth vae-psnr --checkpoint` line, label = step). --watch repeats every 5 minutes
# while the stage has no pack yet. The pack is the stage's --pack (its starting weights).
#   bash tools/vae-curve.sh STAGE_DIR PACK_DIR HELDOUT_SHARD_DIR [--watch]
set -euo pipefail
cd "$(dirname "$0")/.."
main() {
  local dir=$1 pack=$2 data=$3 watch=${4:-}
  while true; do
    for c in $(ls "$dir"/checkpoints/checkpoint-*.safetensors 2>/dev/null | sort); do
      local step
      step=$((10#$(basename "$c" .safetensors | sed 's/checkpoint-//')))
      if [ -f "$dir/psnr.jsonl" ] && grep -q "\"label\":\"$step\"" "$dir/psnr.jsonl"; then continue; fi
      # the stage may rotate the file away while it is read: try the next one then
      nice -n 10 npx hyperbooth vae-psnr --pack "$pack" --data "$data" --checkpoint "$c" --threads 1 --json "$dir/psnr.jsonl" || true
    done
    [ "$watch" = --watch ] && [ ! -f "$dir/pack/manifest.json" ] || break
    sleep 300
  done
}
main "$@"; exit
