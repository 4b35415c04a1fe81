"""Counting in close-packed rafts, particle size by particle size (issue 31's target).

    python benchmarks/rafts.py [--sizes 6,8,11,14,20,30,40] [--n 2] [--size 512] [--model M.onnx]
                               [--pixel-nm 0.2] [--set phase_contrast=off]

Scenes of the ``raft-packing`` preset (hexagonal to randomly jammed monolayers, vacancies, a
second layer in patches) with the particle diameter fixed to each size in px (0.2 nm/px) and
rafts up to 20 particles across. Prints per size: instance F1 at IoU 0.5 (pooled over the
scenes, truth particles cut by the border neutral), the same on whole outlines
(:func:`~nanosizer.metrics.outline_counts`: where a second-layer particle overlaps those below,
which one a label image paints on top is a convention), matched / truth, particles reported,
the median ECD error of the matched particles (visible pixels) and how many regions the fine pass outlined
(:mod:`nanosizer.separate.rafts`). ``--pixel-nm 0.08`` puts the rafts at HRTEM sampling, where
``phase_contrast=auto`` reads them with the phase-contrast decoder.
"""

from __future__ import annotations

import argparse

import numpy as np

from nanosizer.io import Micrograph
from nanosizer.metrics import instance_counts, matched_instances, outline_counts
from nanosizer.pipeline import analyze_micrograph
from nanosizer.settings import Settings, parse_assignments
from nanosizer.synth import generate, preset_params

PIXEL_NM = 0.2


def raft_scene(diameter_px: float, index: int, size: int, pixel_nm: float = PIXEL_NM):
    """A raft-packing scene with particles ``diameter_px`` across (seeded by ``index``)."""
    params = preset_params("raft-packing", np.random.default_rng(500 + index), size)
    params.pixel_size_nm, params.mean_diameter_nm = pixel_nm, diameter_px * pixel_nm
    params.raft_across = int(min(20, 0.8 * size / diameter_px))
    return generate(params, np.random.default_rng(index))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="6,8,11,14,20,30,40")
    parser.add_argument("--n", type=int, default=2)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--model", default=None)
    parser.add_argument("--pixel-nm", type=float, default=PIXEL_NM)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a setting")
    args = parser.parse_args()
    settings = Settings(**{"model": args.model, **parse_assignments(args.set)})
    print(
        f"{args.n} raft-packing scenes of {args.size}² per particle size at {args.pixel_nm:g} nm/px "
        f"(learned separation, defaults{''.join(', ' + item for item in args.set)})"
    )
    print(
        "| particle px | F1 @0.5 | whole-outline F1 | matched / truth | reported | median ECD err "
        "| fine-pass regions |"
    )
    print("|---|---|---|---|---|---|---|")
    for diameter in (float(s) for s in args.sizes.split(",")):
        matched = truth = reported = fine = whole = whole_reported = 0
        ratios = []
        for index in range(args.n):
            scene = raft_scene(diameter, index, args.size, args.pixel_nm)
            result = analyze_micrograph(Micrograph(scene.image, args.pixel_nm, "synthetic", "raft"), settings)
            inner = ~scene.table["touches_border"].to_numpy(dtype=bool)
            counts = instance_counts(result.labels, scene.labels, inner)
            matched, truth = matched + counts["matched"], truth + counts["truth"]
            reported += counts["predicted"]
            outlines = outline_counts(result.separation.particles, scene.full_masks, inner)
            whole, whole_reported = whole + outlines["matched"], whole_reported + outlines["predicted"]
            fine += result.separation.fine_regions
            pairs = matched_instances(result.labels, scene.labels)
            areas_found = np.bincount(result.labels.ravel())
            areas_true = np.bincount(scene.labels.ravel())
            ratios.extend(np.sqrt(areas_found[p] / areas_true[t]) for p, t in pairs if inner[t - 1])
        f1 = 2 * matched / max(truth + reported, 1)
        err = f"{np.median(ratios) - 1:+.1%}" if ratios else "n/a"
        whole_f1 = 2 * whole / max(truth + whole_reported, 1)
        print(
            f"| {diameter:g} | {f1:.3f} | {whole_f1:.3f} | {matched} / {truth} | {reported} | {err} "
            f"| {fine} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
