#!/usr/bin/env bash
# Regenerate the shipped, signed bundles under models/zoo/bundles/ from the zoo checkpoints:
#   csnet-prior/    the tile prior's saliency net (tflite + pte, fp32 + int8, SaliencyDecode)
#   specknet-nano/  the detector (tflite + pte, fp32 + int8, CenterNetDecode, mAP in manifest)
# Usage (from the repository root):  models/zoo/bundles/build.sh
# Env: SPECKS_SIGNING_KEY  private ed25519 key (default ~/.config/specks/keys/specks-zoo.key,
#                          whose public half is board_configs/trusted_keys/specks-zoo.pub)
#      BIN                 directory of the specks executable (default .venv/bin)
#      DATA                synthetic data folder (default runs/bench-data, as `make bench`)
# Data is synthesised once by seed (the Makefile's bench splits for the detector; 1080p frames
# for the prior, which the exporter resizes and centre-crops to the prior's 192x320 input).
# Every artifact must pass the exporter's parity gate (int8 cosine >= 0.98); the manifest
# records the measured parity, the self-test's agreement tolerances (64 held-out tiles for the
# detector, 36 held-out frames for the prior) and, for the detector, mAP per artifact.
set -euo pipefail
KEY="${SPECKS_SIGNING_KEY:-$HOME/.config/specks/keys/specks-zoo.key}"
BIN="${BIN:-.venv/bin}"
DATA="${DATA:-runs/bench-data}"
OUT=models/zoo/bundles
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

[ -f "$DATA/train/data.yaml" ] || "$BIN/specks" data synth "$DATA/train" --images 100 \
    --size 640x640 --seed 7 --val-fraction 0
[ -f "$DATA/heldout/data.yaml" ] || "$BIN/specks" data synth "$DATA/heldout" --images 100 \
    --size 640x640 --seed 1007 --val-fraction 1
[ -f "$DATA/frames-1080p-v2/data.yaml" ] || "$BIN/specks" data synth "$DATA/frames-1080p-v2" \
    --images 72 --size 1920x1080 --seed 2007 --val-fraction 0.5

"$BIN/specks" export models/zoo/csnet-prior.pt --size 320x192 --formats tflite,pte \
    --precision fp32,int8 --calib "$DATA/frames-1080p-v2/data.yaml" --num-calib 64 \
    --val "$DATA/frames-1080p-v2/data.yaml" --num-val 36 --out "$OUT/csnet-prior" --key "$KEY" \
    --overwrite

"$BIN/specks" export models/zoo/specknet-nano.pt --formats tflite,pte --precision fp32,int8 \
    --calib "$DATA/train/data.yaml" --val "$DATA/heldout/data.yaml" \
    --out "$OUT/specknet-nano" --key "$KEY" --overwrite

for bundle in csnet-prior specknet-nano; do
    "$BIN/specks" bundle verify "$OUT/$bundle" --key board_configs/trusted_keys/specks-zoo.pub
done
