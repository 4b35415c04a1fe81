"""Accuracy on a generated suite with exact truth, for each segmenter and separation mode.

    python benchmarks/accuracy.py [--n 10] [--size 768] [--model M.onnx] [--segmenters network]
                                  [--set NAME=VALUE ...]

Prints semantic IoU (particle class), instance F1 at IoU 0.5 (border-touching truth particles
excluded, as the pipeline removes them), and the relative error of the mean and standard
deviation of the equivalent diameter against the truth (interior truth particles).
"""

from __future__ import annotations

import argparse

import numpy as np

from nanosizer.io import Micrograph
from nanosizer.metrics import instance_f1
from nanosizer.pipeline import analyze_micrograph
from nanosizer.settings import SEGMENTERS, SEPARATIONS, Settings, parse_assignments
from nanosizer.synth import generate, preset_params

SUITE = ("overlap-low", "overlap-medium", "overlap-high", "low-contrast", "ultrasmall-au", "mixed-shapes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10, help="images per preset")
    parser.add_argument("--size", type=int, default=768)
    parser.add_argument("--model", default=None, help="ONNX model (default: the shipped one)")
    parser.add_argument("--segmenters", default=",".join(SEGMENTERS))
    parser.add_argument("--separations", default=",".join(SEPARATIONS))
    parser.add_argument("--presets", default=",".join(SUITE))
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="any setting")
    args = parser.parse_args()
    overrides = parse_assignments(args.set)
    print(f"{args.n} images of {args.size}² per preset; truth ECD from interior particles")
    print("| preset | segmenter | separation | particle IoU | instance F1 | mean ECD err | std ECD err |")
    print("|---|---|---|---|---|---|---|")
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
                ious, f1s, found, truth = [], [], [], []
                for s in samples:
                    mg = Micrograph(s.image, s.pixel_size_nm, "synthetic", preset)
                    res = analyze_micrograph(mg, settings)
                    ious.append((res.segmentation & s.mask).sum() / max((res.segmentation | s.mask).sum(), 1))
                    inner = ~s.table["touches_border"].to_numpy()
                    f1s.append(instance_f1(res.labels, s.labels, inner))
                    found.append(res.particles["equivalent_diameter_nm"].to_numpy())
                    truth.append(s.table["equivalent_diameter_nm"].to_numpy()[inner])
                f, t = np.concatenate(found), np.concatenate(truth)
                mean_err = f.mean() / t.mean() - 1 if f.size else np.nan
                std_err = f.std() / t.std() - 1 if f.size > 1 else np.nan
                print(
                    f"| {preset} | {segmenter} | {separation} | {np.mean(ious):.3f} | {np.mean(f1s):.3f} | "
                    f"{mean_err:+.1%} | {std_err:+.1%} |"
                )


if __name__ == "__main__":
    main()
