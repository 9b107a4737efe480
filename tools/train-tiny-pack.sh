#!/usr/bin/env bash
# Rebuilds the embedded pack from scratch: the random-weight tiny pack at the chosen scale, a
# synthetic training shard, the base model (VAE, then UNet + text encoder at a measured latent
# scale), θ* for every training identity (sharded over processes), the hypernetwork.
#
#   bash tools/train-tiny-pack.sh [--run DIR] [--resume] [--install]
#
# --resume continues every stage from where it stopped: base and hypernet from their latest
# checkpoint, bit for bit (src/training/README.md), lidb by skipping the identities whose θ*
# file exists (a θ* depends only on its identity and the run seed, so a redone one is the same
# bytes); make-tiny-pack and dataset are deterministic and are skipped when their output is
# there. Without --resume a run folder that already holds a stage's checkpoints is refused.
# --install copies the result to public/models/tiny (with training.json) and lists it in
# public/models/index.json.
#
# The scale and the run's size come from the environment (defaults: the pack in public/models):
#   ARCH="--image-size 64 --vae-blocks 16,32,32,32 --latent-channels 4"  (make-tiny-pack flags)
#   IDS=200 PHOTOS=4 VAE_STEPS=6000 UNET_STEPS=30000 LIDB_STEPS=300 HYPER_STEPS=15000 DECODER_STEPS=0
#   HB="npx hyperbooth" (the CLI), COMMIT (recorded when the code is not a git checkout)
#   LIDB_SHARDS=1 (parallel `train lidb --shard i/n` processes) THREADS=1 (onnxruntime threads
#   per process; a resume must use the same value to stay bit for bit) NICE=10
# Every stage appends {stage, command, started, seconds, sha256 of its outputs} to
# RUN/stages.jsonl; RUN/training.json is rebuilt from it after every stage.
set -euo pipefail
cd "$(dirname "$0")/.."
# the whole body is one function, read before it runs: editing this file during a
# long run changes nothing in that run
main() {

RUN=runs/tiny RESUME= INSTALL=
while [ $# -gt 0 ]; do
  case $1 in
    --run) RUN=$2; shift 2 ;;
    --resume) RESUME=--resume; shift ;;
    --install) INSTALL=1; shift ;;
    *) # the old positional form: RUN_DIR [--install]
      if [ -z "${RUN_SET:-}" ] && [ "${1#--}" = "$1" ]; then RUN=$1; RUN_SET=1; shift; else echo "unknown argument $1" >&2; exit 2; fi ;;
  esac
done

ARCH=${ARCH:-}
IDS=${IDS:-200} PHOTOS=${PHOTOS:-4} SIZE=${SIZE:-}
VAE_STEPS=${VAE_STEPS:-6000} UNET_STEPS=${UNET_STEPS:-30000} LIDB_STEPS=${LIDB_STEPS:-300} HYPER_STEPS=${HYPER_STEPS:-15000}
# DECODER_STEPS > 0: the VAE decoder alone, fine-tuned on the frozen encoder's latents (cosine decay, batch 4) and
# written onto the finished pack; the latents the UNet learned do not move
DECODER_STEPS=${DECODER_STEPS:-0}
# CHECK_IDS > 0: θ* of that many held-out people, and the hypernetwork's weight-space error on them
# against always predicting the mean training θ* (RUN/check-hypernet.json; issue 15's ≤ 0.5× target)
CHECK_IDS=${CHECK_IDS:-0}
LIDB_SHARDS=${LIDB_SHARDS:-1} THREADS=${THREADS:-1} NICE=${NICE:-10}
# HB: how to call the CLI (an exported copy of the code runs its own: node tools/cli-bin/hyperbooth.mjs);
# commands are recorded as `npx hyperbooth …` either way
HB=${HB:-npx hyperbooth}
# the code that ran: a checkout's HEAD, or COMMIT for an exported copy (git archive)
COMMIT=$(git rev-parse HEAD 2>/dev/null || echo "${COMMIT:-unknown}"); export COMMIT
# the image size is the pack's: read it from --image-size in ARCH (default 64)
if [ -z "$SIZE" ]; then SIZE=$(sed -n 's/.*--image-size[ =]\([0-9]*\).*/\1/p' <<< "$ARCH"); SIZE=${SIZE:-64}; fi

mkdir -p "$RUN"
STAGES="$RUN/stages.jsonl"
[ -n "$RESUME" ] || : > "$STAGES"

hashes() { # paths… → {"path": sha256, …} (a folder hashes the sorted list of its files' hashes, logs left out)
  node -e '
    const fs = require("fs"), path = require("path"), crypto = require("crypto");
    const sha = (b) => crypto.createHash("sha256").update(b).digest("hex");
    // log.jsonl holds timings: every other file of a stage is the same bytes on a rerun
    const walk = (p) => fs.statSync(p).isDirectory() ? fs.readdirSync(p).sort().filter((n) => n !== "log.jsonl").flatMap((n) => walk(path.join(p, n))) : [p];
    const out = {};
    for (const p of process.argv.slice(1)) {
      if (!fs.existsSync(p)) continue;
      out[p] = fs.statSync(p).isDirectory() ? sha(walk(p).map((f) => `${sha(fs.readFileSync(f))}  ${path.relative(p, f)}\n`).join("")) : sha(fs.readFileSync(p));
    }
    process.stdout.write(JSON.stringify(out));
  ' "$@"
}

latest_checkpoint() { ls "$1"/checkpoints/checkpoint-*.safetensors 2>/dev/null | sort | tail -1; }

record() { # stage, seconds, started, command, output paths…
  local name=$1 secs=$2 started=$3 cmd=$4; shift 4
  node -e '
    const [name, secs, started, cmd, hashes] = process.argv.slice(1);
    console.log(JSON.stringify({ stage: name, command: cmd, started, seconds: Number(secs), sha256: JSON.parse(hashes) }));
  ' "$name" "$secs" "$started" "$cmd" "$(hashes "$@")" >> "$STAGES"
}

stage() { # name, output paths (a string evaluated after the command: it may name the new checkpoint), command…
  local name=$1 outputs=$2; shift 2
  local t0=$SECONDS started
  started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  echo "== $name: $*" >&2
  nice -n "$NICE" "$@"
  local cmd="$*"
  [ "${cmd#"$HB "}" = "$cmd" ] || cmd="npx hyperbooth ${cmd#"$HB "}"
  # shellcheck disable=SC2046
  record "$name" $((SECONDS - t0)) "$started" "$cmd" $(eval echo "$outputs")
  write_training_json "$RUN/training.json"
}

write_training_json() { # out
  node -e '
    const fs = require("fs"), crypto = require("crypto");
    const [stagesPath, out, run, env] = process.argv.slice(1);
    const stages = fs.readFileSync(stagesPath, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
    const settings = JSON.parse(env);
    // the installed pack: the decoder stage output (written onto the hypernet stage output) when it ran
    const decoder = Number(settings.DECODER_STEPS) > 0;
    const last = [...stages].reverse().find((s) => (decoder ? /^base \(decoder\)/ : /^hypernet/).test(s.stage));
    const manifestPath = `${run}/${decoder ? "decoder" : "hyper"}/pack/manifest.json`;
    const manifest = last && fs.existsSync(manifestPath) ? fs.readFileSync(manifestPath) : null;
    const m = manifest ? JSON.parse(manifest) : null;
    fs.writeFileSync(out, JSON.stringify({
      ...(manifest ? { manifestSha256: crypto.createHash("sha256").update(manifest).digest("hex"), name: m.name, description: m.description } : {}),
      script: "bash tools/train-tiny-pack.sh", commit: process.env.COMMIT || null, settings, stages,
    }, null, 2) + "\n");
  ' "$STAGES" "$1" "$RUN" "$(node -e 'console.log(JSON.stringify(Object.fromEntries(process.argv.slice(1).map((kv) => kv.split(/=(.*)/s).slice(0, 2)))))' \
    "ARCH=$ARCH" "IDS=$IDS" "PHOTOS=$PHOTOS" "SIZE=$SIZE" "VAE_STEPS=$VAE_STEPS" "UNET_STEPS=$UNET_STEPS" "LIDB_STEPS=$LIDB_STEPS" \
    "HYPER_STEPS=$HYPER_STEPS" "DECODER_STEPS=$DECODER_STEPS" "CHECK_IDS=$CHECK_IDS" "LIDB_SHARDS=$LIDB_SHARDS" "THREADS=$THREADS")"
}

# deterministic stages: redone only when their output is missing
if [ -z "$RESUME" ] || [ ! -f "$RUN/init/manifest.json" ]; then
  # shellcheck disable=SC2086
  stage make-tiny-pack '$RUN/init/manifest.json' $HB make-tiny-pack --out "$RUN/init" --no-index $ARCH
fi
if [ -z "$RESUME" ] || [ ! -f "$RUN/data/train.json" ]; then
  stage dataset '$RUN/data/train.json $RUN/data/train.bin' $HB dataset --out "$RUN/data" --split train --ids "$IDS" --photos "$PHOTOS" --styles all --size "$SIZE"
fi

T="--threads $THREADS"
# shellcheck disable=SC2086
{
stage "base (vae)" '$RUN/vae/pack/manifest.json $(latest_checkpoint $RUN/vae)' \
  $HB train base --pack "$RUN/init" --data "$RUN/data" --out "$RUN/vae" --parts vae --steps "$VAE_STEPS" --checkpoint-every 250 $T $RESUME --quiet
stage "base (unet)" '$RUN/unet/pack/manifest.json $(latest_checkpoint $RUN/unet)' \
  $HB train base --pack "$RUN/vae/pack" --data "$RUN/data" --out "$RUN/unet" --parts unet --latent-scale auto --steps "$UNET_STEPS" --checkpoint-every 1000 $T $RESUME --quiet
}

# θ*: one process per shard; a rerun skips every identity whose file exists
lidb_stage() { # name, log name, shard dir, split, out dir
  local name=$1 log=$2 data=$3 split=$4 out=$5 t0=$SECONDS started pids=()
  started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  for ((i = 0; i < LIDB_SHARDS; i++)); do
    # shellcheck disable=SC2086
    nice -n "$NICE" $HB train lidb --pack "$RUN/unet/pack" --data "$data" --split "$split" --out "$out" --steps "$LIDB_STEPS" --shard "$i/$LIDB_SHARDS" $T --quiet \
      > "$RUN/$log-shard-$i.log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  record "$name" $((SECONDS - t0)) "$started" "npx hyperbooth train lidb --pack $RUN/unet/pack --data $data --split $split --out $out --steps $LIDB_STEPS --shard i/$LIDB_SHARDS $T --quiet (i = 0…$((LIDB_SHARDS - 1)))" "$out"
  write_training_json "$RUN/training.json"
}
lidb_stage lidb lidb "$RUN/data" train "$RUN/theta"

# shellcheck disable=SC2086
stage hypernet '$RUN/hyper/pack/manifest.json $(latest_checkpoint $RUN/hyper)' \
  $HB train hypernet --pack "$RUN/unet/pack" --data "$RUN/data" --targets "$RUN/theta" --out "$RUN/hyper" --steps "$HYPER_STEPS" --beta 10 --checkpoint-every 500 $T $RESUME --quiet
FINAL="$RUN/hyper/pack"
if [ "$DECODER_STEPS" -gt 0 ]; then
  # shellcheck disable=SC2086
  stage "base (decoder)" '$RUN/decoder/pack/manifest.json $(latest_checkpoint $RUN/decoder)' \
    $HB train base --pack "$RUN/vae/pack" --data "$RUN/data" --out "$RUN/decoder" --parts decoder --steps "$DECODER_STEPS" --decay-steps "$DECODER_STEPS" \
    --lr 5e-4 --batch 4 --checkpoint-every 250 --onto "$RUN/hyper/pack" $T $RESUME --quiet
  FINAL="$RUN/decoder/pack"
fi

if [ "$CHECK_IDS" -gt 0 ]; then
  if [ -z "$RESUME" ] || [ ! -f "$RUN/data-heldout/heldout.json" ]; then
    stage "dataset (held-out)" '$RUN/data-heldout/heldout.json $RUN/data-heldout/heldout.bin' \
      $HB dataset --out "$RUN/data-heldout" --split heldout --ids "$CHECK_IDS" --photos "$PHOTOS" --styles photo --size "$SIZE"
  fi
  lidb_stage "lidb (held-out)" lidb-heldout "$RUN/data-heldout" heldout "$RUN/theta-heldout"
  # shellcheck disable=SC2086
  stage check-hypernet '$RUN/check-hypernet.json' \
    $HB train check-hypernet --pack "$FINAL" --data "$RUN/data-heldout" --split heldout --targets "$RUN/theta-heldout" --mean-of "$RUN/theta" --json "$RUN/check-hypernet.json"
fi

if [ -n "$INSTALL" ]; then
  rm -rf public/models/tiny
  cp -r "$FINAL" public/models/tiny
  cp "$RUN/training.json" public/models/tiny/training.json
  node -e '
    const fs = require("fs");
    const m = JSON.parse(fs.readFileSync("public/models/tiny/manifest.json", "utf8"));
    const indexPath = "public/models/index.json";
    const index = JSON.parse(fs.readFileSync(indexPath, "utf8"));
    const size = m.files.reduce((a, f) => a + f.size, 0) + fs.readFileSync("public/models/tiny/manifest.json").length;
    index.packs = index.packs.map((p) => (p.id === "tiny" ? { id: "tiny", path: "tiny/manifest.json", name: m.name, size } : p));
    fs.writeFileSync(indexPath, JSON.stringify(index, null, 2) + "\n");
  '
  echo "installed $FINAL as public/models/tiny" >&2
fi
}

main "$@"; exit
