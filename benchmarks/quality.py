"""The quality verdict against per-image instance F1 on every set with truth.

    python benchmarks/quality.py [--n 3] [--size 512] [--model M.onnx] [--sets emps,arda,bam,generated]
                                 [--csv per_image.csv]

Sets: the 35 EMPS crops (instance F1 at IoU 0.5, truth cut by the border neutral, pixel size 1),
the 8 ARDA supported catalysts (F1 at box IoU 0.5, truth boxes touching the border neutral,
``--particles bright`` for the two HAADF images, dark for the others, pixel size 1), the 8 BAM
TiO2 fields (info bar cropped, instance F1 against the manual instances after the published
translation) and ``--n`` generated scenes of every preset but the training ones, the held-out
phase-grain family included (dark-field presets analysed with ``--particles bright``, as their
description says). Images whose truth and result are both empty have no F1 and are left out.

Prints the table verdict × F1 bin, the pooled F1 of the images kept (not ``unreliable``) against
all, and the issue's targets: every image with F1 < 0.3 unreliable; of those with F1 >= 0.8 at
most 5 % unreliable and 10 % doubtful. Real sets are read from ``../shared/realdata`` (skipped
when absent); nothing here is used for training.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_accuracy import (  # noqa: E402
    REALDATA,
    arda,
    bam_fields,
    emps_images,
    interior,
    manual_instances,
    shift_to_sem,
)

from nanosizer.io import Micrograph  # noqa: E402
from nanosizer.metrics import instance_counts  # noqa: E402
from nanosizer.pipeline import analyze_micrograph  # noqa: E402
from nanosizer.quality import VERDICTS  # noqa: E402
from nanosizer.settings import Settings  # noqa: E402
from nanosizer.synth import generate, preset_params  # noqa: E402
from nanosizer.synth.presets import PRESETS  # noqa: E402

BINS = (0.0, 0.3, 0.5, 0.8, 1.0001)


def _row(set_name: str, image: str, result, counts: dict) -> dict:
    quality = result.quality
    return {
        "set": set_name,
        "image": image,
        "matched": counts["matched"],
        "predicted": counts["predicted"],
        "truth": counts["truth"],
        "verdict": quality.verdict,
        "reasons": "; ".join(quality.reasons),
        **{k: v for k, v in quality.signals.items() if not isinstance(v, bool)},
    }


def emps(settings: Settings):
    for name, result, instances in emps_images(settings):
        yield _row("EMPS", name, result, instance_counts(result.labels, instances, interior(instances)))


def arda_images(settings: Settings):
    for name, result, counts in arda(settings):
        yield _row("ARDA", name, result, counts)


def bam(settings: Settings):
    for field, result, manual in bam_fields(settings):
        instances, _ = manual_instances(manual)
        instances = np.unique(instances, return_inverse=True)[1].reshape(instances.shape)
        dx, dy = field.tsem_to_sem_translation_px_x, field.tsem_to_sem_translation_px_y
        labels, _ = shift_to_sem(result.labels, dx, dy)
        yield _row("BAM", str(field.tsem_id), result, instance_counts(labels, instances, interior(instances)))


def generated(settings: Settings, n: int, size: int):
    for preset in (name for name in PRESETS if not name.startswith("training")):
        for k in range(n):
            rng = np.random.default_rng(2000 + k)
            params = preset_params(preset, rng, size)
            scene = generate(params, rng)
            chosen = settings.replace(particles="bright") if params.dark_field else settings
            micrograph = Micrograph(scene.image, scene.pixel_size_nm, "synthetic", f"{preset}-{k}")
            result = analyze_micrograph(micrograph, chosen)
            inner = ~scene.table["touches_border"].to_numpy(dtype=bool)
            yield _row(
                "generated", f"{preset}-{k}", result, instance_counts(result.labels, scene.labels, inner)
            )


def f1(frame: pd.DataFrame) -> float:
    return 2 * frame["matched"].sum() / max(frame["predicted"].sum() + frame["truth"].sum(), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3, help="generated scenes per preset")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--model", default=None, help="ONNX model (default: the shipped one)")
    parser.add_argument("--sets", default="emps,arda,bam,generated")
    parser.add_argument("--csv", default=None, help="also write the per-image rows here")
    args = parser.parse_args()
    settings = Settings(model=args.model)
    sets = args.sets.split(",")
    rows = []
    real = REALDATA.is_dir()
    if not real:
        print(f"no real data at {REALDATA}: generated scenes only")
    for name, source in (("emps", emps), ("arda", arda_images), ("bam", bam)):
        if name in sets and real:
            rows += list(source(settings))
    if "generated" in sets:
        rows += list(generated(settings, args.n, args.size))
    frame = pd.DataFrame(rows)
    frame = frame[(frame["truth"] > 0) | (frame["predicted"] > 0)].copy()  # no F1 without either
    frame["f1"] = 2 * frame["matched"] / (frame["predicted"] + frame["truth"])
    if args.csv:
        frame.to_csv(args.csv, index=False)
    frame["F1 bin"] = pd.cut(frame["f1"], BINS, right=False, labels=["< 0.3", "0.3-0.5", "0.5-0.8", ">= 0.8"])
    print(f"{len(frame)} images ({', '.join(f'{s} {c}' for s, c in frame['set'].value_counts().items())})")
    table = pd.crosstab(frame["F1 bin"], frame["verdict"]).reindex(columns=list(VERDICTS), fill_value=0)
    print("\n| F1 bin | " + " | ".join(VERDICTS) + " |")
    print("|---" * (len(VERDICTS) + 1) + "|")
    for label, counts in table.iterrows():
        print(f"| {label} | " + " | ".join(str(int(c)) for c in counts) + " |")
    kept = frame[frame["verdict"] != "unreliable"]
    print(
        f"\npooled F1, all images: {f1(frame):.3f}; kept (not unreliable, {len(kept)} images): {f1(kept):.3f}"
    )
    for set_name, part in frame.groupby("set", sort=False):
        kept_part = part[part["verdict"] != "unreliable"]
        print(
            f"- {set_name}: pooled F1 all {f1(part):.3f}, kept {f1(kept_part):.3f} "
            f"({len(kept_part)} of {len(part)} images)"
        )
    bad = frame[frame["f1"] < 0.3]
    good = frame[frame["f1"] >= 0.8]
    missed = bad[bad["verdict"] != "unreliable"]
    print(
        f"\nF1 < 0.3: {len(bad) - len(missed)} of {len(bad)} unreliable"
        + (
            f" (not: {', '.join(f'{r.image} {r.verdict}' for r in missed.itertuples())})"
            if len(missed)
            else ""
        )
    )
    for verdict in ("unreliable", "doubtful"):
        hit = good[good["verdict"] == verdict]
        print(
            f"F1 >= 0.8: {len(hit)} of {len(good)} {verdict} ({len(hit) / max(len(good), 1):.1%})"
            + (f": {', '.join(hit['image'])}" if len(hit) else "")
        )


if __name__ == "__main__":
    main()
