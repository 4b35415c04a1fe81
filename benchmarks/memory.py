"""Peak memory of one image's analysis against its size: the law the batch plans workers with.

    python benchmarks/memory.py [--sizes 1024 2048 4096 8192 16384] [--segmenter network]
                                [--particles bright]

Each image is a generated 2048² scene (spheres, some overlapping, ~200 particles) tiled to the
size asked (so a 16384² image holds ~13,000 particles), written as 8-bit TIFF in a temporary
folder, then read, analysed and written (overlay, labels, tables) by a fresh process, as a
batch worker does; its peak resident memory (``VmHWM``) is reported with a least-squares line
peak = a + b · megapixels, the estimate ``nanosizer.memory`` uses. ``--particles bright`` reads
the scene inverted, as a dark-field image: the model's dark-field decoder runs.
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
import tifffile

from nanosizer.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
from pipeline import scene  # noqa: E402

CHILD = (
    "import json, sys; from nanosizer.io import read_micrographs; "
    "from nanosizer.pipeline import analyze_micrograph; from nanosizer.report import write_image_results; "
    "from nanosizer.settings import Settings; "
    "s = Settings(**json.loads(sys.argv[2])); (mg,) = read_micrographs(sys.argv[1], 0.25); "
    "r = analyze_micrograph(mg, s); write_image_results(r, sys.argv[3], ('csv',)); "
    "print(len(r.particles), [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096, 8192, 16384])
    parser.add_argument("--segmenter", default="network")
    parser.add_argument("--separation", default="uecs", help="uecs (the README's table), learned, auto, ...")
    parser.add_argument("--model", default=None, help="ONNX model (default: the shipped one)")
    parser.add_argument("--particles", default="dark", help="dark (bright field) or bright (dark field)")
    args = parser.parse_args()
    settings = Settings(
        segmenter=args.segmenter, separation=args.separation, model=args.model, particles=args.particles
    )
    base = scene(2048).image.astype(np.float32)
    base = np.round(255 * (base - base.min()) / np.ptp(base)).astype(np.uint8)
    if args.particles == "bright":  # the same particles, bright on dark
        base = 255 - base
    print(
        f"segmenter={args.segmenter} separation={args.separation} particles={args.particles}; "
        "fresh process per image: read, analyse, write"
    )
    print("| image | megapixels | particles | peak MB | MB per megapixel | s |")
    print("|---|---|---|---|---|---|")
    points = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            reps = -(-size // 2048)
            image = np.tile(base, (reps, reps))[:size, :size]
            path = Path(tmp) / f"m{size}.tif"
            tifffile.imwrite(path, image)
            del image
            tic = time.perf_counter()
            child = [sys.executable, "-c", CHILD, str(path), json.dumps(settings.to_dict())]
            out = subprocess.run(
                [*child, str(Path(tmp) / "o")],
                check=True,
                capture_output=True,
                text=True,
            )
            seconds = time.perf_counter() - tic
            found, peak_kb = out.stdout.split()[-2:]
            mpx = size * size / 1e6
            peak = int(peak_kb) / 1024
            points.append((mpx, peak))
            print(f"| {size}² | {mpx:.1f} | {found} | {peak:.0f} | {peak / mpx:.1f} | {seconds:.0f} |")
            path.unlink()
    if len(points) >= 2:
        mpx, peak = np.array(points).T
        b, a = np.polyfit(mpx, peak, 1)
        print(f"\nleast squares: peak ≈ {a:.0f} MB + {b:.1f} MB per megapixel")


if __name__ == "__main__":
    main()
