#!/usr/bin/env bash
# One training round of the shipped network (issues 13 and 15), prepared for a lent GPU and
# tested on the CPU at toy sizes:
#   1. the segmenter from scratch on training-v5 (domain randomisation, two rounds; the
#      phase-grain family held out), as the 2026-11-26 GPU run did on training-v3;
#   2. the shape branch (learned outlines) on the new segmenter, on training-shapes-v5 (rods,
#      rafts, particles in domains of different darkness and small particles: the shipped
#      branch's preset);
#   3. the int8 file, then the measurements every model is reported with.
#
#   scripts/train_round.sh OUT cuda          # on a GPU: ~7 + ~10 minutes of training
#   STEPS=4 POOL=8 SHAPE_SCENES=8 SHAPE_STEPS=4 scripts/train_round.sh /tmp/round cpu   # toy check
set -euo pipefail
OUT=${1:?output folder}
DEVICE=${2:-cuda}
STEPS=${STEPS:-23500}
POOL=${POOL:-2500}
BATCH=${BATCH:-32}
SHAPE_SCENES=${SHAPE_SCENES:-1600}
SHAPE_STEPS=${SHAPE_STEPS:-8000}
MINUTES=${MINUTES:-7}
mkdir -p "$OUT"
nanosizer train "$OUT/segmenter" --fresh --device "$DEVICE" --batch "$BATCH" --lr 1.5e-3 \
    --steps "$STEPS" --pool "$POOL" --val-every "$(( STEPS < 1000 ? STEPS : 1000 ))" --seed 7 \
    --preset training-v5 --max-minutes "$MINUTES" --export "$OUT/segmenter.onnx"
python -m nanosizer.train.shapes --segmenter "$OUT/segmenter.onnx" --out "$OUT/shapes" \
    --scenes "$SHAPE_SCENES" --steps "$SHAPE_STEPS" --batch "$BATCH" --device "$DEVICE" \
    --preset training-shapes-v5 --export "$OUT/model.onnx"
nanosizer quantize "$OUT/model.onnx" "$OUT/model_int8.onnx"
if [ "${MEASURE:-1}" = 1 ]; then
    python benchmarks/accuracy.py --n 5 --size 512 --separations uecs,learned --model "$OUT/model_int8.onnx" \
        --presets overlap-low,overlap-medium,low-contrast,ultrasmall-au,mixed-shapes,figure-crop,figure-inset,stem-scan,wedge-drift,moire-crystals,rod-rafts,large-particles,au-phase-grain,fringe-only \
        | tee "$OUT/accuracy.txt"
    python benchmarks/real_accuracy.py --segmenters network --separations uecs,learned \
        --model "$OUT/model_int8.onnx" | tee "$OUT/real_accuracy.txt" || true  # skips without ../shared
fi
