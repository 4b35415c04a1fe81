"""Segmentation, counting and sizing on the real evaluation-only sets in ../shared/realdata.

    python benchmarks/real_accuracy.py [--segmenters network,threshold] [--separations uecs,learned]
                                       [--zoom 1.0] [--model M.onnx] [--set NAME=VALUE ...]

EMPS test crops (dark particles, ``--pixel-size 1``): particle IoU pooled over pixels and per
image; against the manual instance maps, instance F1 at IoU 0.5 and 0.75 (pooled; truth
particles cut by the border neutral), the share of truth particles excluded or merged, and
the median ECD error of the matched particles. BAM TiO2 transmission-SEM fields (info bar
cropped, 7.34375 nm/px): particle IoU against
the manual masks after the published TSEM→SEM translation, the median equivalent diameter
of the full pipeline (UECS) against the manual instances (≥ 20 px, as ``fields.csv``) and against
the subset kept in the published 2-class masks (presumably the fully visible particles), and,
for the manual instances the pipeline found (IoU > 0.5), the ratio of the two diameters: it
tells sizing errors (the ratio) from which particles are measured at all (the count); and the
manual particles found by what the TSEM image shows of their outline (:func:`boundary_classes`:
apart, touching along a visible gap, touching where the saturated agglomerate shows none).
ARDA supported catalysts (8 images, YOLO boxes only): F1, precision and recall at box IoU 0.5
(truth boxes at the border neutral; ``--particles bright`` for the two HAADF images) and the
median size ratio √(w·h) of the matched boxes; ``--arda-support F`` analyses the two HAADF
images with ``subtract_support_nm`` at F times their median particle size. Nothing here is ever
used for training.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import tifffile
from PIL import Image
from scipy import ndimage as ndi

from nanosizer.io import read_micrographs
from nanosizer.metrics import Confusion, box_counts, instance_counts, matched_instances
from nanosizer.pipeline import analyze_micrograph
from nanosizer.settings import Settings, parse_assignments

REALDATA = (
    Path(os.environ.get("NANOSIZER_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "realdata"
)
BAM_PIXEL_NM = 7.34375
BAM_ROWS = 712


def interior(instances: np.ndarray) -> np.ndarray:
    """Which truth labels (1..N) do not touch the image border (the others are neutral)."""
    edge = np.unique(np.concatenate([instances[0], instances[-1], instances[:, 0], instances[:, -1]]))
    return ~np.isin(np.arange(1, instances.max() + 1), edge)


def emps_images(settings: Settings):
    """(image name, result, truth instances 1..N) for each EMPS test crop, pixel size 1."""
    folder = REALDATA / "emps-test-darkfg"
    for path in sorted((folder / "images").glob("*.png")):
        instances = np.asarray(Image.open(folder / "segmaps" / path.name)).astype(np.int64)
        instances = np.unique(instances, return_inverse=True)[1].reshape(instances.shape)  # 1..N
        yield path.stem, analyze_micrograph(read_micrographs(path, pixel_size_nm=1.0)[0], settings), instances


def emps(settings: Settings) -> tuple[Confusion, list[float], list[dict], list[float]]:
    """Pooled confusion, per-image IoU, per-image :func:`instance_counts` and separation times."""
    total, per_image, counts, seconds = Confusion(np.zeros((2, 2), np.int64)), [], [], []
    for _, result, instances in emps_images(settings):
        conf = Confusion.of(result.segmentation, instances > 0)
        total = total + conf
        per_image.append(conf.metrics()["iou_particle"])
        counts.append(instance_counts(result.labels, instances, interior(instances)))
        seconds.append(result.timings["separate_s"])
    return total, per_image, counts, seconds


def shift_to_sem(mask: np.ndarray, dx: float, dy: float) -> tuple[np.ndarray, tuple[slice, slice]]:
    """Move a TSEM-frame mask by the registration (+dx right, +dy down); also the valid window."""
    dx, dy = int(round(dx)), int(round(dy))
    out = np.zeros_like(mask)
    h, w = mask.shape
    src = (slice(max(0, -dy), h - max(0, dy)), slice(max(0, -dx), w - max(0, dx)))
    dst = (slice(max(0, dy), h - max(0, -dy)), slice(max(0, dx), w - max(0, -dx)))
    out[dst] = mask[src]
    return out, dst


def manual_instances(mask: np.ndarray, min_px: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """A manual mask's instances: 4-connected labels (as the masks are drawn) without the
    fragments below ``min_px`` left by separation lines (as ``fields.csv``), and every label's size."""
    labels, _ = ndi.label(mask)
    sizes = np.bincount(labels.ravel())
    labels[sizes[labels] < min_px] = 0
    return labels, sizes


def ecd_nm(area_px) -> np.ndarray:
    """Equivalent circular diameter in nm of pixel areas on the BAM fields."""
    return np.sqrt(4 * np.asarray(area_px) / np.pi) * BAM_PIXEL_NM


def median_instance_ecd(mask: np.ndarray) -> float:
    """Median equivalent diameter (nm) of a manual mask's instances."""
    labels, sizes = manual_instances(mask)
    return float(np.median(ecd_nm(sizes[np.unique(labels[labels > 0])])))


def bam_fields(settings: Settings):
    """(field row of fields.csv, result, manual mask in the SEM frame) for each BAM field: the
    TSEM image analysed without its info bar at 7.34375 nm/px."""
    folder = REALDATA / "bam-tio2-tsem"
    crop = settings.replace(roi=(0, 0, BAM_ROWS, 1024))
    for field in pd.read_csv(folder / "fields.csv").itertuples():
        micrograph = read_micrographs(folder / "tsem" / f"{field.tsem_id}.tif", pixel_size_nm=BAM_PIXEL_NM)[0]
        manual = tifffile.imread(folder / "mask_manual" / f"{field.sem_id}_m.tif")[:BAM_ROWS] > 0
        yield field, analyze_micrograph(micrograph, crop), manual


GAP_SHOWN = 0.04  # of a field's particle-background contrast: a boundary the TSEM image shows
BAM_CLASSES = ("apart", "touching, boundary shown", "touching, boundary not shown")


def boundary_classes(image: np.ndarray, instances: np.ndarray) -> np.ndarray:
    """Per manual instance (labels 1..N of ``instances``, SEM frame; 0 for absent labels), what
    the registered TSEM ``image`` shows of its outline, as an index into :data:`BAM_CLASSES`:
    apart (at least 90 % of a 2 px ring around it on background), touching others where the ring
    off the background is brighter than its core by :data:`GAP_SHOWN` of the field's contrast (a
    gap the image shows), or not (a boundary drawn on the SEM image alone: saturated agglomerates
    carry no contrast inside). -1 for instances too small to tell."""
    solid = ndi.binary_closing(instances > 0, np.ones((3, 3), bool))  # the drawn separation lines closed
    background = ~ndi.binary_dilation(solid, iterations=2)
    smooth = ndi.gaussian_filter(image.astype(np.float32), 1.0)
    contrast = float(np.median(smooth[background]) - np.median(smooth[solid]))
    near_background = ndi.binary_dilation(background, iterations=2)
    off_background = ~ndi.binary_dilation(background, iterations=3)
    out = np.full(int(instances.max()) + 1, -1, np.int64)
    for value, box in enumerate(ndi.find_objects(instances), start=1):
        if box is None:
            continue
        box = tuple(slice(max(b.start - 4, 0), b.stop + 4) for b in box)
        mask = instances[box] == value
        ring = ndi.binary_dilation(mask, iterations=2) & ~mask
        if not ring.any():
            continue
        if (ring & near_background[box]).sum() >= 0.9 * ring.sum():
            out[value] = 0
            continue
        inner_ring = ring & off_background[box]
        core = ndi.binary_erosion(mask, iterations=2)
        if inner_ring.sum() < 5 or core.sum() < 5:
            continue
        gap = np.median(smooth[box][inner_ring]) - np.median(smooth[box][core])
        out[value] = 1 if gap >= GAP_SHOWN * contrast else 2
    return out


def bam(settings: Settings) -> tuple[Confusion, list[dict]]:
    folder = REALDATA / "bam-tio2-tsem"
    total, rows = Confusion(np.zeros((2, 2), np.int64)), []
    for field, result, manual in bam_fields(settings):
        pred, window = shift_to_sem(
            result.segmentation, field.tsem_to_sem_translation_px_x, field.tsem_to_sem_translation_px_y
        )
        conf = Confusion.of(pred[window], manual[window])
        total = total + conf
        found = result.particles["equivalent_diameter_nm"]
        # the same particles in both: found instances matched to manual ones (IoU > 0.5)
        instances, sizes = manual_instances(manual)
        labels, _ = shift_to_sem(
            result.labels, field.tsem_to_sem_translation_px_x, field.tsem_to_sem_translation_px_y
        )
        pairs = matched_instances(labels, instances)
        manual_ecd = ecd_nm(sizes[pairs[:, 1]])
        dx, dy = field.tsem_to_sem_translation_px_x, field.tsem_to_sem_translation_px_y
        image, _ = shift_to_sem(result.micrograph.data[:BAM_ROWS], dx, dy)
        classes = boundary_classes(image, instances)
        found_class = np.zeros(len(classes), bool)
        found_class[pairs[:, 1]] = True
        visible = tifffile.imread(folder / "mask_manual_2classes" / f"{field.sem_id}_cm.tif")
        rows.append(
            {
                "field": field.tsem_id,
                "visible_median_ecd_nm": median_instance_ecd(visible[:BAM_ROWS] > 0),
                "iou": conf.metrics()["iou_particle"],
                "n_found": len(found),
                "n_manual": field.manual_instances_ge20px,
                "median_ecd_nm": float(found.median()) if len(found) else float("nan"),
                "manual_median_ecd_nm": field.manual_eqd_nm_median,
                "matched": len(pairs),
                "ecd_ratios": found.to_numpy()[pairs[:, 0] - 1] / manual_ecd,
                "separate_s": result.timings["separate_s"],
                "by_boundary": [
                    ((classes == k).sum(), (found_class & (classes == k)).sum())
                    for k in range(len(BAM_CLASSES))
                ],
            }
        )
    return total, rows


ARDA_DARK_FIELD = ("Ru2", "Pd3")  # HAADF-STEM: analysed with --particles bright, as a user who knows would


def arda(settings: Settings, support_factor: float = 0.0):
    """(image, result, :func:`~nanosizer.metrics.box_counts`) for each ARDA supported-catalyst
    image: F1 at box IoU 0.5, truth boxes touching the border neutral, pixel size 1, bright
    particles for the two HAADF images and dark for the six bright-field ones.

    ``support_factor`` > 0: the HAADF images with ``subtract_support_nm`` at that many times
    their median truth box size √(w·h), as a user who knows the particles' size would set it."""
    folder = REALDATA / "arda-supported-catalysts"
    for path in sorted((folder / "images").glob("*.jpg")):
        micrograph = read_micrographs(path, pixel_size_nm=1.0)[0]
        h, w = micrograph.data.shape
        yolo = np.loadtxt(folder / "labels" / f"{path.stem}.txt", ndmin=2)
        cx, cy, bw, bh = yolo[:, 1] * w, yolo[:, 2] * h, yolo[:, 3] * w, yolo[:, 4] * h
        truth = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
        polarity = "bright" if path.stem in ARDA_DARK_FIELD else "dark"
        chosen = settings.replace(particles=polarity)
        if support_factor > 0 and path.stem in ARDA_DARK_FIELD:
            chosen = chosen.replace(subtract_support_nm=support_factor * float(np.median(np.sqrt(bw * bh))))
        result = analyze_micrograph(micrograph, chosen)
        t = result.particles
        found = np.stack([t.bbox_x, t.bbox_y, t.bbox_x + t.bbox_w, t.bbox_y + t.bbox_h], axis=1)
        yield path.stem, result, box_counts(found, truth, (h, w))


def arda_row(settings: Settings, support_factor: float = 0.0) -> str:
    """One table row: pooled F1, precision, recall, the median size ratio √(w·h) found / true
    of the matched boxes, and F1 per image."""
    counts = {name: c for name, _, c in arda(settings, support_factor)}
    matched = sum(c["matched"] for c in counts.values())
    predicted = sum(c["predicted"] for c in counts.values())
    truth = sum(c["truth"] for c in counts.values())
    ratios = np.concatenate([c["size_ratios"] for c in counts.values()])
    each = ", ".join(
        f"{name} {2 * c['matched'] / max(c['predicted'] + c['truth'], 1):.2f}" for name, c in counts.items()
    )
    return (
        f"| {settings.segmenter} | {settings.separation} | {2 * matched / max(predicted + truth, 1):.3f} | "
        f"{matched / max(predicted, 1):.3f} | {matched / max(truth, 1):.3f} | "
        f"{np.median(ratios) if ratios.size else float('nan'):.3f} | {each} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segmenters", default="network,threshold")
    parser.add_argument("--separations", default="uecs", help="comma-separated, e.g. uecs,learned")
    parser.add_argument("--zoom", default="1.0", help="network working-scale factor or auto")
    parser.add_argument("--model", default=None, help="ONNX model (default: the shipped one)")
    parser.add_argument("--edge-refinement", action="store_true", help="threshold edges where confirmed")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="any setting")
    parser.add_argument(
        "--arda-support",
        type=float,
        default=0.0,
        metavar="F",
        help="ARDA's HAADF images with subtract_support_nm = F x their median particle size",
    )
    args = parser.parse_args()
    overrides = parse_assignments(args.set)
    if not REALDATA.is_dir():
        raise SystemExit(f"no real data at {REALDATA}")
    print(
        "| segmenter | separation | EMPS IoU (pooled) | EMPS per-image median / min | BAM IoU (pooled) "
        "| BAM median ECD err | vs the fully visible subset | BAM manual particles found (IoU > 0.5) "
        "| their ECD found / manual | s |"
    )
    print("|---" * 10 + "|")
    per_image, instance_rows, background_rows, arda_rows, bam_rows = {}, [], [], [], []
    emps_names = [path.stem for path in sorted((REALDATA / "emps-test-darkfg" / "images").glob("*.png"))]
    for segmenter in args.segmenters.split(","):
        for separation in args.separations.split(","):
            if separation == "learned" and segmenter != "network":
                continue
            settings = Settings(  # validated there
                segmenter=segmenter,
                separation=separation,
                network_zoom=args.zoom,
                model=args.model,
                edge_refinement=args.edge_refinement,
                **overrides,
            )
            tic = time.perf_counter()
            e_total, e_images, e_counts, e_seconds = emps(settings)
            b_total, b_rows = bam(settings)
            per_image[segmenter, separation] = (e_images, b_rows)
            found = np.median([r["median_ecd_nm"] for r in b_rows])
            manual = np.median([r["manual_median_ecd_nm"] for r in b_rows])
            errs = [r["median_ecd_nm"] / r["manual_median_ecd_nm"] - 1 for r in b_rows]
            visible = np.median([r["visible_median_ecd_nm"] for r in b_rows])
            print(
                f"| {segmenter} | {separation} | {e_total.metrics()['iou_particle']:.3f} | "
                f"{np.median(e_images):.3f} / {np.min(e_images):.3f} | "
                f"{b_total.metrics()['iou_particle']:.3f} | "
                f"{found / manual - 1:+.1%} (fields {min(errs):+.0%}..{max(errs):+.0%}) | "
                f"{found / visible - 1:+.1%} | "
                f"{sum(r['matched'] for r in b_rows)} of {sum(r['n_manual'] for r in b_rows)} | "
                f"{np.median(np.concatenate([r['ecd_ratios'] for r in b_rows])):.3f} (median) | "
                f"{time.perf_counter() - tic:.0f} |",
                flush=True,
            )
            census = np.sum([r["by_boundary"] for r in b_rows], axis=0)
            bam_rows.append(
                f"| {segmenter} | {separation} | "
                + " | ".join(f"{found} of {n} ({found / max(n, 1):.0%})" for n, found in census)
                + " |"
            )
            arda_rows.append(arda_row(settings, args.arda_support))
            total = {key: sum(c[key] for c in e_counts) for key in e_counts[0]}
            where = [f"{n} {c['on_background']}" for n, c in zip(emps_names, e_counts, strict=True)]
            background_rows.append(
                f"- {segmenter}/{separation}: "
                + (", ".join(w for w in where if not w.endswith(" 0")) or "none")
            )
            denominator = max(total["predicted"] + total["truth"], 1)
            instance_rows.append(
                f"| {segmenter} | {separation} | {2 * total['matched'] / denominator:.3f} | "
                f"{2 * total['matched_75'] / denominator:.3f} | {total['matched']} of {total['truth']} "
                f"({total['predicted']} reported) | {total['on_background']} | "
                f"{total['excluded'] / total['truth']:.1%} / "
                f"{total['merged'] / total['truth']:.1%} | {np.mean(e_seconds):.3f} / "
                f"{np.mean([r['separate_s'] for r in b_rows]):.3f} |"
            )
    print(
        "\nEMPS instances (35 crops, truth cut by the border neutral)\n"
        "| segmenter | separation | F1 @0.5 | F1 @0.75 | truth matched | particles on background "
        "(< 10 % on any truth particle: text, scale bars, film) | excluded / merged "
        "| separation s per image EMPS / BAM |"
    )
    print("|---" * 8 + "|")
    print("\n".join(instance_rows))
    print("\nEMPS particles on background, by image:")
    print("\n".join(background_rows))
    print(
        "\nBAM manual particles found, by what the TSEM image shows of their outline (a gap brighter "
        f"than the particle by {GAP_SHOWN:.0%} of the contrast; boundaries drawn on the SEM image)\n"
        "| segmenter | separation | " + " | ".join(BAM_CLASSES) + " |"
    )
    print("|---" * (2 + len(BAM_CLASSES)) + "|")
    print("\n".join(bam_rows))
    support_note = ""
    if args.arda_support:
        support_note = f"; subtract_support_nm {args.arda_support:g}x their median size"
    print(
        "\nARDA supported catalysts (8 images, box IoU 0.5, truth at the border neutral; --particles "
        f"bright for Ru2 and Pd3{support_note})\n| segmenter | separation | F1 | precision | recall "
        "| size ratio √(w·h) found / true (median) | F1 per image |"
    )
    print("|---" * 7 + "|")
    print("\n".join(arda_rows))
    net, thr = per_image.get(("network", "uecs")), per_image.get(("threshold", "uecs"))
    if net and thr:
        net_e, thr_e = np.array(net[0]), np.array(thr[0])
        print(
            f"\nEMPS images where the network loses > 0.02 IoU to the threshold: "
            f"{int((net_e < thr_e - 0.02).sum())} of {net_e.size}"
        )
        for n, t in zip(net[1], thr[1], strict=True):
            print(
                f"BAM {n['field']}: IoU net {n['iou']:.3f} thr {t['iou']:.3f}; median ECD net "
                f"{n['median_ecd_nm']:.0f} thr {t['median_ecd_nm']:.0f} "
                f"manual {n['manual_median_ecd_nm']:.0f} nm; "
                f"count net {n['n_found']} thr {t['n_found']} manual {n['n_manual']}"
            )


if __name__ == "__main__":
    main()
