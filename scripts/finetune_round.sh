#!/usr/bin/env bash
# The fine-tuning route of issue 30, prepared for a lent GPU and tested on the CPU at toy sizes:
#   1. the shipped segmenter fine-tuned on training-v6 (training-v5 plus supported catalysts in
#      HAADF-STEM and bright field and the phase-grain family; haadf-support held out), batch
#      norms fixed as the shipped file folds them;
#   2. the shipped shape branch (read back from the shipped file) fine-tuned on the new
#      segmenter's features, on training-shapes-v5 as the shipped branch was;
#   3. the float model split into pieces that a lent machine can send back (16 MiB each).
# PRESET picks the mix (training-v6: runs A and B; training-v7: run C; training-v9, next: v8 with
# Pt/C at HRTEM, catalyst-hrtem, that the frozen encoder could not learn), DISTILL > 0 keeps what
# the shipped model knows on the tiles it already gets right (``nanosizer train --distill``),
# PROFILE=1 first prints where a step's time goes (benchmarks/train_speed.py --breakdown),
# POLARITY=1 gives the segmenter the polarity plane as a second input (``--polarity-input``),
# GRAPHS=1 replays its training step as CUDA graphs (``--cuda-graphs``; 7.2 against 16-20 ms
# per step in benchmarks/train_speed.py, not yet run in a whole round).
# Each stage is skipped when its output exists, and the segmenter resumes from its last.pt, so
# the same command can be run again after a command limit cut it short.
#
#   scripts/finetune_round.sh OUT cuda                                   # A
#   PRESET=training-v7 DISTILL=1 PROFILE=1 scripts/finetune_round.sh OUT cuda   # C
#   STEPS=4 POOL=8 SHAPE_SCENES=8 SHAPE_STEPS=4 scripts/finetune_round.sh /tmp/ft cpu   # toy check
set -euo pipefail
OUT=${1:?output folder}
DEVICE=${2:-cuda}
STEPS=${STEPS:-9000}
POOL=${POOL:-3000}
BATCH=${BATCH:-32}
LR=${LR:-3e-4}
MINUTES=${MINUTES:-5.5}
SHAPE_SCENES=${SHAPE_SCENES:-1200}
SHAPE_STEPS=${SHAPE_STEPS:-3000}
SHAPE_LR=${SHAPE_LR:-3e-4}
PRESET=${PRESET:-training-v6}
DISTILL=${DISTILL:-0}
POLARITY_FLAG=""; [ "${POLARITY:-0}" = 1 ] && POLARITY_FLAG="--polarity-input"
GRAPHS_FLAG=""; [ "${GRAPHS:-0}" = 1 ] && GRAPHS_FLAG="--cuda-graphs"
SHIPPED=$(python3 -c "from nanosizer.segment.network import default_model_path; print(default_model_path())")
mkdir -p "$OUT"
if [ "${PROFILE:-0}" = 1 ]; then
    PROFILE_STEPS=50; [ "$DEVICE" = cpu ] && PROFILE_STEPS=2
    python3 "$(dirname "$0")/../benchmarks/train_speed.py" --device "$DEVICE" --batch "$BATCH" \
        --steps "$PROFILE_STEPS" --breakdown | tee "$OUT/step_breakdown.txt"
fi
if [ ! -f "$OUT/segmenter.onnx" ]; then
    python3 -m nanosizer train "$OUT/segmenter" --init shipped --device "$DEVICE" --batch "$BATCH" --lr "$LR" \
        --steps "$STEPS" --pool "$POOL" --val-every "$(( STEPS < 1500 ? STEPS : 1500 ))" --seed 11 \
        --preset "$PRESET" --distill "$DISTILL" $POLARITY_FLAG $GRAPHS_FLAG --max-minutes "$MINUTES" --export "$OUT/segmenter.onnx"
fi
if [ ! -f "$OUT/model.onnx" ]; then
    python3 -m nanosizer.train.shapes --segmenter "$OUT/segmenter.onnx" --out "$OUT/shapes" \
        --init "$SHIPPED" --scenes "$SHAPE_SCENES" --steps "$SHAPE_STEPS" --batch "$BATCH" \
        --lr "$SHAPE_LR" --seed 11 --device "$DEVICE" --preset training-shapes-v5 --export "$OUT/model.onnx"
fi
split -b 15M -d "$OUT/model.onnx" "$OUT/model.onnx.part"
ls -l "$OUT"
