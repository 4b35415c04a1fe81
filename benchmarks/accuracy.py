"""Accuracy on a generated suite with exact truth, for each segmenter and separation mode.

    python benchmarks/accuracy.py [--n 10] [--size 768] [--model M.onnx] [--segmenters network]
                                  [--separations uecs,learned] [--mask] [--set NAME=VALUE ...]

Prints semantic IoU (particle class), instance F1 at IoU 0.5 and 0.75 (pooled over the
images, on the visible label images; border-touching truth particles neutral, as the pipeline
removes them), the same F1 on whole outlines (:func:`~nanosizer.metrics.outline_counts`: each
particle's whole outline against the truth's full mask, which no painting order decides), the share of
truth particles excluded (nothing measured most of them) or merged with another, the relative
error of the mean and median equivalent diameter against the truth (each interior truth
particle's whole outline) and the separation stage's time per image. ``--mask`` gives the
pipeline the perfect particle map instead of the segmenter's (learned separation still runs
the network for the outlines). Dark-field presets (HAADF-STEM) are analysed with
``--particles bright``, as their description says.
"""

from __future__ import annotations

import argparse

import numpy as np

from nanosizer.io import Micrograph
from nanosizer.metrics import instance_counts, outline_counts
from nanosizer.pipeline import analyze_micrograph
from nanosizer.settings import SEGMENTERS, SEPARATIONS, Settings, parse_assignments
from nanosizer.synth import generate, preset_params

SUITE = ("overlap-low", "overlap-medium", "overlap-high", "low-contrast", "ultrasmall-au", "mixed-shapes")
HEADER = (
    "| particle IoU | F1 @0.5 | F1 @0.75 | whole-outline F1 @0.5 / @0.75 | excluded / merged "
    "| mean ECD err | median ECD err | separation s |"
)


def separation_row(
    counts: list[dict], outlines: list[dict], found: np.ndarray, truth: np.ndarray, seconds: list[float]
) -> str:
    """The instance columns of a table row from per-image :func:`instance_counts` and
    :func:`outline_counts`, diameters found and true (nm) and the separation times."""
    total = {key: sum(c[key] for c in counts) for key in counts[0]}
    f1, f1_75 = _f1(total)
    whole = _f1({key: sum(c[key] for c in outlines) for key in outlines[0]})
    lost = (
        f"{total['excluded'] / max(total['truth'], 1):.1%} / {total['merged'] / max(total['truth'], 1):.1%}"
    )
    mean_err = found.mean() / truth.mean() - 1 if found.size else np.nan
    median_err = np.median(found) / np.median(truth) - 1 if found.size else np.nan
    return (
        f"{f1:.3f} | {f1_75:.3f} | {whole[0]:.3f} / {whole[1]:.3f} | {lost} |"
        f" {mean_err:+.1%} | {median_err:+.1%} | {np.mean(seconds):.2f} |"
    )


def _f1(total: dict) -> tuple[float, float]:
    """Pooled F1 at IoU 0.5 and 0.75 from summed counts."""
    denominator = max(total["predicted"] + total["truth"], 1)
    return 2 * total["matched"] / denominator, 2 * total["matched_75"] / denominator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10, help="images per preset")
    parser.add_argument("--size", type=int, default=768)
    parser.add_argument("--model", default=None, help="ONNX model (default: the shipped one)")
    parser.add_argument("--segmenters", default="network")
    parser.add_argument("--separations", default="uecs,learned")
    parser.add_argument("--presets", default=",".join(SUITE))
    parser.add_argument(
        "--mask", action="store_true", help="perfect particle maps instead of the segmenter's"
    )
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="any setting")
    args = parser.parse_args()
    overrides = parse_assignments(args.set)
    for name, known in (("segmenters", SEGMENTERS), ("separations", SEPARATIONS)):
        unknown = set(getattr(args, name).split(",")) - set(known)
        if unknown:
            parser.error(f"unknown {name}: {', '.join(sorted(unknown))}")
    source = "perfect masks" if args.mask else "segmented"
    print(
        f"{args.n} images of {args.size}² per preset ({source}); "
        "truth ECD from interior particles' whole outlines"
    )
    print("| preset | segmenter | separation " + HEADER)
    print("|---" * 11 + "|")
    for preset in args.presets.split(","):
        samples = []
        for k in range(args.n):
            rng = np.random.default_rng(1000 + k)
            samples.append(generate(preset_params(preset, rng, args.size), rng))
        for segmenter in args.segmenters.split(","):
            for separation in args.separations.split(","):
                settings = Settings(**{"segmenter": segmenter, "separation": separation, **overrides})
                if args.model:
                    settings = settings.replace(model=args.model)
                ious, counts, outlines, found, truth, seconds = [], [], [], [], [], []
                for s in samples:
                    mg = Micrograph(s.image, s.pixel_size_nm, "synthetic", preset)
                    chosen = settings.replace(particles="bright") if s.params.dark_field else settings
                    res = analyze_micrograph(mg, chosen, mask=s.mask if args.mask else None)
                    ious.append((res.segmentation & s.mask).sum() / max((res.segmentation | s.mask).sum(), 1))
                    inner = ~s.table["touches_border"].to_numpy(dtype=bool)
                    counts.append(instance_counts(res.labels, s.labels, inner))
                    outlines.append(outline_counts(res.separation.particles, s.full_masks, inner))
                    found.append(res.particles["equivalent_diameter_nm"].to_numpy())
                    truth.append(s.table["equivalent_diameter_nm"].to_numpy()[inner])
                    seconds.append(res.timings["separate_s"])
                row = separation_row(counts, outlines, np.concatenate(found), np.concatenate(truth), seconds)
                print(f"| {preset} | {segmenter} | {separation} | {np.mean(ious):.3f} | {row}", flush=True)


if __name__ == "__main__":
    main()
