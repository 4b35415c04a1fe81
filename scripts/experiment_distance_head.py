"""Experiment for issue 13, CPU path: a distance head on the shipped network's frozen features.

    python scripts/experiment_distance_head.py [--scenes 240] [--steps 1500] [--n 10]

The shipped DeepLabv3+ (float weights read back from its ONNX file) stays frozen; a small new
head (3×3 conv, ReLU, 1×1 conv) learns, from the decoder's stride-4 features, each particle's
distance transform normalised to 1 at its centre, computed on its *full* mask (hidden parts
included; the maximum where particles overlap). Training scenes are generated (seeds from
20,000; the evaluation uses the benchmark's seeds from 1,000), features computed once, then only
the head trains. Separation: markers at the h-maxima of the predicted distance, watershed on it
inside the pipeline's own (cleaned) particle map; border particles dropped as UECS's are.
Prints instance F1 at IoU 0.5 (metrics.instance_f1) against UECS on the same images, and what
the CPU run cost. An experiment: nothing here is shipped or used by nanosizer.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage as ndi
from skimage.morphology import h_maxima
from skimage.segmentation import watershed

from nanosizer.io import Micrograph
from nanosizer.metrics import instance_f1
from nanosizer.pipeline import analyze_micrograph
from nanosizer.segment.network import default_model_path, network_input
from nanosizer.segment.train.from_onnx import model_from_onnx
from nanosizer.settings import Settings
from nanosizer.synth import generate, preset_params

TRAIN_PRESETS = ("overlap-low", "overlap-medium", "overlap-high", "mixed-shapes", "tsem-agglomerates")
EVAL_PRESETS = ("overlap-low", "overlap-medium", "overlap-high", "mixed-shapes")


def distance_target(scene) -> np.ndarray:
    """Per pixel: the largest normalised distance transform of the full masks covering it."""
    target = np.zeros(scene.image.shape, np.float32)
    for region in scene.full_masks:
        dist = ndi.distance_transform_edt(np.pad(region.mask, 1))[1:-1, 1:-1]
        if dist.max() > 0:
            view = target[region.slices]
            np.maximum(view, (dist / dist.max()).astype(np.float32), out=view)
    return target


def convex_regions(binary: np.ndarray) -> np.ndarray:
    """Labels of the regions the separation's own convexity test calls single particles."""
    from nanosizer.measure.geometry import contour_geometry, is_convex
    from nanosizer.regions import regions_from_mask

    out = np.zeros(binary.shape, np.int32)
    for k, region in enumerate(regions_from_mask(binary), start=1):
        if is_convex(contour_geometry(region.mask), 0.95, 0.95):
            out[region.slices][region.mask] = k
    return out


def _relabel(labels: np.ndarray) -> np.ndarray:
    _, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(labels.shape).astype(np.int32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=240)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--n", type=int, default=10, help="evaluation images per preset")
    parser.add_argument("--h", default="0.1,0.2,0.35", help="h-maxima depths of the markers, comma-separated")
    args = parser.parse_args()
    torch.manual_seed(0)
    path = default_model_path()
    model = model_from_onnx(path)
    model.eval()

    tic = time.perf_counter()
    feats, targets = [], []
    with torch.no_grad():
        for k in range(args.scenes):
            rng = np.random.default_rng(20_000 + k)
            scene = generate(
                preset_params(TRAIN_PRESETS[k % len(TRAIN_PRESETS)], rng, 256), rng, with_table=False
            )
            x = torch.from_numpy(network_input(scene.image))[None, None].float()
            feats.append(model.features(x)[0].half())
            targets.append(torch.from_numpy(distance_target(scene)))
    feats, targets = torch.stack(feats), torch.stack(targets)[:, None]
    t_features = time.perf_counter() - tic

    width = feats.shape[1]
    head = torch.nn.Sequential(
        torch.nn.Conv2d(width, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(64, 1, 1)
    )
    opt = torch.optim.Adam(head.parameters(), lr=1e-3)
    tic = time.perf_counter()
    for step in range(args.steps):
        idx = torch.randint(0, len(feats), (16,))
        out = F.interpolate(head(feats[idx].float()), scale_factor=4, mode="bilinear", align_corners=False)
        loss = F.mse_loss(torch.sigmoid(out), targets[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 500 == 0 or step == args.steps - 1:
            print(f"step {step}: loss {loss.item():.4f}", flush=True)
    t_train = time.perf_counter() - tic
    print(f"features of {args.scenes} scenes of 256²: {t_features:.0f} s")
    print(f"head, {args.steps} steps of 16 tiles: {t_train:.0f} s")

    depths = [float(h) for h in args.h.split(",")]
    columns = [f"distance head, h {h:g}" for h in depths] + [f"convex kept whole, h {h:g}" for h in depths]
    print("| preset | UECS F1 | " + " | ".join(columns) + " |")
    print("|---" * (2 + len(columns)) + "|")
    for preset in EVAL_PRESETS:
        uecs_f1, learned_f1 = [], {(h, hybrid): [] for h in depths for hybrid in (False, True)}
        for k in range(args.n):
            rng = np.random.default_rng(1000 + k)
            s = generate(preset_params(preset, rng, 768), rng)
            result = analyze_micrograph(Micrograph(s.image, s.pixel_size_nm, "synthetic", preset), Settings())
            inner = ~s.table["touches_border"].to_numpy()
            uecs_f1.append(instance_f1(result.labels, s.labels, inner))
            with torch.no_grad():
                x = torch.from_numpy(network_input(s.image))[None, None].float()
                out = F.interpolate(head(model.features(x)), scale_factor=4, mode="bilinear")
                dist = torch.sigmoid(out)[0, 0].numpy()
            binary = result.segmentation
            convex = convex_regions(binary)
            for h in depths:
                markers, _ = ndi.label(h_maxima(np.where(binary, dist, 0), h) & binary)
                split = watershed(-dist, markers, mask=binary)
                for hybrid in (False, True):
                    labels = split.copy()
                    if hybrid:  # as UECS does: only non-convex regions are split
                        labels[convex > 0] = convex[convex > 0] + split.max()
                        labels = _relabel(labels)
                    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
                    labels[np.isin(labels, edge[edge > 0])] = 0
                    learned_f1[(h, hybrid)].append(instance_f1(labels, s.labels, inner))
        cells = " | ".join(
            f"{np.mean(learned_f1[(h, hybrid)]):.3f}" for hybrid in (False, True) for h in depths
        )
        print(f"| {preset} | {np.mean(uecs_f1):.3f} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
