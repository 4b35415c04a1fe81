"""Time each stage (read, segment, separate, measure, write) and the peak memory of one analysis.

    python benchmarks/pipeline.py [--sizes 1024 2048 4096] [--repeat 3]

Scenes are synthetic (spheres, some overlapping) with about 50 / 200 / 800 particles at
1024² / 2048² / 4096². Times are the best of ``--repeat`` runs; peak memory is traced by
tracemalloc over one whole analysis (NumPy buffers included).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
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
    t.update({stage: result.timings[f"{stage}_s"] for stage in ("segment", "separate", "measure")})
    tic = time.perf_counter()
    write_image_results(result, out, ("csv",))
    t["write"] = time.perf_counter() - tic
    return t, len(result.particles)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--separation", default="uecs")
    args = parser.parse_args()
    settings = Settings(separation=args.separation)
    stages = ("read", "segment", "separate", "measure", "write")
    print(f"separation={args.separation}; best of {args.repeat} runs; seconds per stage")
    print(f"| image | truth | found | {' | '.join(stages)} | after segmentation | total | peak MB |")
    print("|---" * (len(stages) + 6) + "|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            sample = scene(size)
            path = write_synth(sample, Path(tmp), f"bench{size}")
            best = None
            for _ in range(args.repeat):
                t, found = run_once(path, Path(tmp) / f"out{size}", settings)
                best = t if best is None else {k: min(best[k], t[k]) for k in t}
            tracemalloc.start()
            run_once(path, Path(tmp) / f"mem{size}", settings)
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            after = best["separate"] + best["measure"]
            cells = " | ".join(f"{best[s]:.3f}" for s in stages)
            print(
                f"| {size}² | {len(sample.table)} | {found} | {cells} | {after:.3f} | "
                f"{sum(best.values()):.3f} | {peak:.0f} |"
            )


if __name__ == "__main__":
    main()
