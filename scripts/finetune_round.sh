#!/usr/bin/env bash
# The fine-tuning route of issue 30, prepared for a lent GPU and tested on the CPU at toy sizes:
#   1. the shipped segmenter fine-tuned on training-v6 (training-v5 plus supported catalysts in
#      HAADF-STEM and bright field and the phase-grain family; haadf-support held out), batch
#      norms fixed as the shipped file folds them;
#   2. the shipped shape branch (read back from the shipped file) fine-tuned on the new
#      segmenter's features, on training-shapes-v5 as the shipped branch was;
#   3. STACK=1: what reads the new encoder's features, retrained on it (a new encoder makes the
#      shipped ones stale): the fine pass's head (from the shipped one, --init-mode fine_shapes),
#      the dark-field and phase-contrast decoders (from the new native one, on the frozen
#      encoder, as their CPU recipes in the model card) and their shape heads (from the shipped
#      ones); then the whole file assembled as shipped: quantised, the fine head and both
#      decoders grafted (stack.onnx);
#   4. the model (stack.onnx with STACK=1, else the float model.onnx) split into pieces that a
#      lent machine can send back (15 MiB each).
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
#   STACK=1 STEPS=2 POOL=4 SHAPE_SCENES=4 SHAPE_STEPS=2 BATCH=2 FINE_SCENES=4 FINE_STEPS=2 \
#       DEC_STEPS=2 DEC_POOL=4 HEAD_SCENES=4 HEAD_STEPS=2 CALIBRATION=2 scripts/finetune_round.sh /tmp/fs cpu
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
SHIP="$OUT/model.onnx"
if [ "${STACK:-0}" = 1 ]; then
    FINE_SCENES=${FINE_SCENES:-1200}; FINE_STEPS=${FINE_STEPS:-1500}
    DEC_STEPS=${DEC_STEPS:-3000}; DEC_POOL=${DEC_POOL:-1200}
    HEAD_SCENES=${HEAD_SCENES:-800}; HEAD_STEPS=${HEAD_STEPS:-2500}
    if [ ! -f "$OUT/fine/head.pt" ]; then
        python3 -m nanosizer.train.shapes --segmenter "$OUT/segmenter.onnx" --out "$OUT/fine" \
            --init "$SHIPPED" --init-mode fine_shapes --scenes "$FINE_SCENES" --steps "$FINE_STEPS" \
            --batch "$BATCH" --lr 3e-4 --seed 12 --device "$DEVICE" --preset training-fine-rafts --zooms 3 5
    fi
    for MODE in dark_field phase_contrast; do
        if [ "$MODE" = dark_field ]; then MIX=training-dark; SEED=21; else MIX=training-phase-v3; SEED=33; fi
        if [ ! -f "$OUT/$MODE/segmenter.onnx" ]; then
            python3 -m nanosizer train "$OUT/$MODE" --init "$OUT/segmenter.onnx" --freeze-encoder \
                --preset "$MIX" --val-preset "$MIX" --device "$DEVICE" --batch "$BATCH" --lr 5e-4 \
                --steps "$DEC_STEPS" --pool "$DEC_POOL" --val-every "$(( DEC_STEPS < 500 ? DEC_STEPS : 500 ))" \
                --seed "$SEED" --max-minutes "$MINUTES" --export "$OUT/$MODE/segmenter.onnx"
        fi
        if [ ! -f "$OUT/${MODE}_shapes/head.pt" ]; then
            python3 -m nanosizer.train.shapes --segmenter "$OUT/$MODE/segmenter.onnx" --out "$OUT/${MODE}_shapes" \
                --init "$SHIPPED" --init-mode "$MODE" --scenes "$HEAD_SCENES" --steps "$HEAD_STEPS" \
                --batch "$BATCH" --lr 3e-4 --seed "$SEED" --device "$DEVICE" --preset "$MIX"
        fi
    done
    if [ ! -f "$OUT/stack.onnx" ]; then
        python3 -m nanosizer quantize "$OUT/model.onnx" "$OUT/int8.onnx" --calibration "${CALIBRATION:-24}"
        python3 -m nanosizer.train.fine_head "$OUT/int8.onnx" --segmenter "$OUT/segmenter.onnx" \
            --head "$OUT/fine/head.pt" --out "$OUT/stack_fine.onnx"
        python3 -m nanosizer.train.mode_decoder "$OUT/stack_fine.onnx" --mode dark_field \
            --segmenter "$OUT/dark_field/segmenter.onnx" --head "$OUT/dark_field_shapes/head.pt" \
            --out "$OUT/stack_dark.onnx"
        python3 -m nanosizer.train.mode_decoder "$OUT/stack_dark.onnx" --mode phase_contrast \
            --segmenter "$OUT/phase_contrast/segmenter.onnx" --head "$OUT/phase_contrast_shapes/head.pt" \
            --out "$OUT/stack.onnx"
    fi
    SHIP="$OUT/stack.onnx"
fi
split -b 15M -d "$SHIP" "$SHIP.part"
ls -l "$OUT"
