"""Batch throughput (images per minute) for 1 and 2 local workers and a local Dask cluster.

    python benchmarks/throughput.py [--n 100] [--size 1024] [--segmenter network]

A generated series of ``--n`` micrographs (~100 particles each) is analysed four ways into
fresh folders; every run writes all outputs (report off, as its plots are the same for all).
One worker runs in the calling process with onnxruntime's threads on every core, so the
speed-up of two workers over it is bounded by the CPU time per image (on two cores, the
network already runs on both); the last column compares with one worker held to one thread,
which measures how well the work itself scales across processes.
The parent's peak Python memory (tracemalloc) is measured for 10 and ``--n`` images with two
workers: it should stay flat, as results stream to disk.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import tifffile

from nanosizer.batch import run_batch
from nanosizer.segment import network
from nanosizer.settings import Settings
from nanosizer.synth import SceneParams, generate


def make_series(folder: Path, n: int, size: int) -> None:
    d_px = size * np.sqrt(4 * 0.15 / (np.pi * 100))  # ~100 particles at 15 % coverage
    for k in range(n):
        params = SceneParams(
            size_px=(size, size),
            pixel_size_nm=0.25,
            mean_diameter_nm=d_px * 0.25,
            diameter_spread=0.12,
            coverage=0.15,
            overlap="low",
            agglomerate=0.3,
            contrast=1.2,
            dtype="uint8",
        )
        image = generate(params, k, with_table=False).image
        tifffile.imwrite(
            folder / f"img{k:03d}.tif", image, imagej=True, resolution=(4.0, 4.0), metadata={"unit": "nm"}
        )


def timed(inputs, out, settings, **options) -> tuple[float, int]:
    tic = time.perf_counter()
    report = run_batch(inputs, out, settings, tables=("csv",), report=False, **options)
    assert not report.failures, report.failures
    return time.perf_counter() - tic, report.particles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--segmenter", default="network")
    parser.add_argument("--separation", default="uecs", help="uecs (the README's numbers), learned, ...")
    args = parser.parse_args()
    settings = Settings(segmenter=args.segmenter, separation=args.separation)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        series = tmp / "series"
        series.mkdir()
        make_series(series, args.n, args.size)
        print(f"{args.n} images of {args.size}², segmenter={args.segmenter}; start-up of pools included")
        print("| engine | seconds | images/min | particles | speed-up | vs 1 single-threaded worker |")
        print("|---|---|---|---|---|---|")
        runs = [
            ("1 worker", {"workers": 1}),
            ("1 worker, 1 inference thread", {"workers": 1, "threads": 1}),
            ("2 workers", {"workers": 2}),
            ("Dask LocalCluster, 2 workers", {"workers": 2, "scheduler": "local"}),
        ]
        seconds = {}
        for name, options in runs:
            threads = options.pop("threads", None)
            network.set_inference_threads(threads)  # workers of a pool always run one thread each
            seconds[name], particles = timed([series], tmp / name.replace(" ", "_"), settings, **options)
            network.set_inference_threads(None)
            base, single = seconds[runs[0][0]], seconds.get(runs[1][0])
            rate = 60 * args.n / seconds[name]
            versus = f"{single / seconds[name]:.2f}×" if single else ""
            print(
                f"| {name} | {seconds[name]:.1f} | {rate:.1f} | {particles} | {base / seconds[name]:.2f}× "
                f"| {versus} |"
            )
        print("\n| images | parent peak Python memory (MB), 2 workers |")
        print("|---|---|")
        for n in (10, args.n):
            files = sorted(series.glob("*.tif"))[:n]
            tracemalloc.start()
            timed(files, tmp / f"mem{n}", settings, workers=2)
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            print(f"| {n} | {peak:.1f} |")


if __name__ == "__main__":
    main()
