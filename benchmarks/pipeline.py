"""Time each stage (read, segment, clean, separate, measure, write) and the peak memory of one analysis.

    python benchmarks/pipeline.py [--sizes 1024 2048 4096] [--repeat 3] [--segmenter network]
                                  [--separation uecs|learned] [--zoom 1.0|auto] [--model M.onnx]

Scenes are synthetic (spheres, some overlapping) with about 50 / 200 / 800 particles at
1024² / 2048² / 4096². Times are the best of ``--repeat`` runs. With the network, the bare
forward pass of the whole image in onnxruntime is timed in the same run (the floor) and the
analysis (read to measure, no writing) is given as a multiple of it. "After segmentation"
is everything from the segmenter's binary map to the table: clean + separate + measure. Peak
memory is the maximum resident set size of a fresh process that reads and analyses the image
once. The forward pass computes every output of the model (with a shape head: its outlines too).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from nanosizer.io import read_micrographs
from nanosizer.pipeline import analyze_micrograph
from nanosizer.report import write_image_results
from nanosizer.settings import Settings
from nanosizer.synth import SceneParams, generate, write_synth

PARTICLES = {1024: 50, 2048: 200, 4096: 800}
COVERAGE = 0.15


def scene(size: int, seed: int = 0):
    n = PARTICLES.get(size, 200)
    d_px = size * np.sqrt(4 * COVERAGE / (np.pi * n))
    params = SceneParams(
        size_px=(size, size),
        pixel_size_nm=0.25,
        mean_diameter_nm=d_px * 0.25,
        diameter_spread=0.12,
        coverage=COVERAGE,
        overlap="low",
        agglomerate=0.3,
        contrast=1.2,
        dtype="uint16",
    )
    return generate(params, seed)


def run_once(path: Path, out: Path, settings: Settings):
    """One read → analyse → write; stage times from the pipeline's own timings."""
    tic = time.perf_counter()
    (mg,) = read_micrographs(path)
    t = {"read": time.perf_counter() - tic}
    result = analyze_micrograph(mg, settings)
    t.update({stage: result.timings[f"{stage}_s"] for stage in ("segment", "clean", "separate", "measure")})
    tic = time.perf_counter()
    write_image_results(result, out, ("csv",))
    t["write"] = time.perf_counter() - tic
    return t, len(result.particles)


def bare_forward(image: np.ndarray, model_path: str | None = None) -> float:
    """Seconds of one onnxruntime pass over the whole normalised image (best of 2)."""
    from nanosizer.segment.network import load_model, network_input

    model = load_model(model_path)
    data = network_input(image)
    h, w = (-(-n // 16) * 16 for n in data.shape)
    batch = np.zeros((1, 1, h, w), np.float32)
    batch[0, 0, : data.shape[0], : data.shape[1]] = data
    best = np.inf
    for _ in range(2):
        tic = time.perf_counter()
        model.session.run(None, model.feed(batch))
        best = min(best, time.perf_counter() - tic)
    return best


def peak_rss_mb(path: Path, settings: Settings) -> float:
    """Maximum resident memory of a fresh process analysing ``path`` once.

    Read from the child's own ``VmHWM``: ``ru_maxrss`` survives ``exec`` on Linux and would
    report the (larger) parent's peak, as a process spawned by ``vfork`` inherits it.
    """
    code = (
        "import json, sys; from nanosizer.io import read_micrographs; "
        "from nanosizer.pipeline import analyze_micrograph; from nanosizer.settings import Settings; "
        "s = Settings(**json.loads(sys.argv[2])); (mg,) = read_micrographs(sys.argv[1]); "
        "analyze_micrograph(mg, s); "
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), json.dumps(settings.to_dict())],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--separation", default="uecs")
    parser.add_argument("--segmenter", default="network")
    parser.add_argument("--zoom", default="1.0", help="network zoom: a number or 'auto'")
    parser.add_argument("--model", default=None, help="ONNX model (default: the shipped one)")
    args = parser.parse_args()
    zoom = args.zoom if args.zoom == "auto" else float(args.zoom)
    settings = Settings(
        segmenter=args.segmenter, separation=args.separation, network_zoom=zoom, model=args.model
    )
    network = args.segmenter == "network"
    stages = ("read", "segment", "clean", "separate", "measure", "write")
    print(
        f"segmenter={args.segmenter} zoom={args.zoom} separation={args.separation}; best of {args.repeat}; s"
    )
    extra = " bare forward | analysis / forward |" if network else ""
    print(
        f"| image | truth | found | {' | '.join(stages)} | after segmentation | analysis |{extra} "
        "total | peak MB |"
    )
    print("|---" * (len(stages) + 7 + 2 * network) + "|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            sample = scene(size)
            path = write_synth(sample, Path(tmp), f"bench{size}")
            best = None
            for _ in range(args.repeat):
                t, found = run_once(path, Path(tmp) / f"out{size}", settings)
                best = t if best is None else {k: min(best[k], t[k]) for k in t}
            peak = peak_rss_mb(path, settings)
            after = best["clean"] + best["separate"] + best["measure"]
            analysis = best["read"] + best["segment"] + after
            cells = " | ".join(f"{best[s]:.3f}" for s in stages)
            floor = ""
            if network:
                forward = bare_forward(sample.image, args.model)
                floor = f" {forward:.3f} | {analysis / forward:.2f} |"
            print(
                f"| {size}² | {len(sample.table)} | {found} | {cells} | {after:.3f} | {analysis:.3f} |"
                f"{floor} {sum(best.values()):.3f} | {peak:.0f} |"
            )


if __name__ == "__main__":
    main()
