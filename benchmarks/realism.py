"""Compare simple statistics of generated and real micrographs, side by side.

    python benchmarks/realism.py [--n 4]

For each set: contrast-to-noise ratio, background level and flatness (after robust [0, 1]
normalisation), fraction of saturated (near-black) particle pixels, median particle size in px
and foreground fraction, and for the domain randomisation of issue 15: background grain at the
particles' scale (band-pass std / particle contrast), the halo just outside particles (/ particle
contrast; Fresnel fringes), line-to-line jitter (std of row means / background std; scan noise),
background darker than most of the particles (text, labels, dark grain, inset boxes), JPEG
blockiness (gradient at 8-px block edges / elsewhere), the background's large-scale ramp
(p95 − p5 of the background smoothed at 32 px, / particle contrast; thickness gradients), the
anisotropy of the particle edges (1 − the ratio of the structure tensor's eigenvalues summed
over the edges; drift) and the texture inside particles (band-pass std of the eroded interiors
/ contrast; fringes, moiré, grains) and the HRTEM speckle of the support (band-pass std at
σ 2-4 px away from the particles / the particles' median local contrast against the ring
around them; amorphous carbon at the defocus of lattice images), as median [10th–90th
percentile] over images. Real
sets are read from ../shared/realdata (evaluation only; skipped when absent).
"""

from __future__ import annotations

import argparse

import numpy as np
from real_accuracy import REALDATA  # one place says where the shared real data lives
from scipy import ndimage as ndi

from nanosizer.segment import normalise
from nanosizer.synth import PRESETS, synth

STATS = (
    "cnr",
    "bg_level",
    "bg_flatness",
    "saturated",
    "size_px",
    "fg_fraction",
    "bg_grain",
    "edge_halo",
    "row_jitter",
    "dark_outside",
    "blockiness",
    "bg_ramp",
    "edge_anisotropy",
    "fg_texture",
    "speckle",
)


def image_stats(image: np.ndarray, mask: np.ndarray, labels: np.ndarray) -> dict:
    """Statistics of one image given its particle mask and instance labels."""
    norm = normalise(image)
    fg, bg = norm[mask], norm[~mask]
    smooth_bg = ndi.gaussian_filter(np.where(mask, np.median(bg), norm), 16)[~mask]
    sizes = np.bincount(labels.ravel())[1:]
    sizes = sizes[sizes > 0]
    size_px = float(np.median(np.sqrt(4 * sizes / np.pi))) if sizes.size else np.nan
    contrast = max(float(bg.mean() - fg.mean()), 1e-3)
    return {
        "cnr": (bg.mean() - fg.mean()) / (bg.std() + 1e-6),
        "bg_level": float(np.median(bg)),
        "bg_flatness": float(smooth_bg.std()),
        "saturated": float((fg <= 0.02).mean()),
        "size_px": size_px,
        "fg_fraction": float(mask.mean()),
        **domain_stats(norm, mask, size_px, contrast),
    }


def domain_stats(norm: np.ndarray, mask: np.ndarray, size_px: float, contrast: float) -> dict:
    """The issue-15 statistics of one normalised image (see the module docstring)."""
    far = ~ndi.binary_dilation(mask, iterations=4)
    radius = size_px / 2 if np.isfinite(size_px) else 8.0
    sigma = max(radius / 4, 0.7)
    band = ndi.gaussian_filter(norm, sigma) - ndi.gaussian_filter(norm, 2 * sigma)
    ring = ndi.binary_dilation(mask, iterations=3) & ~mask
    bg_median = float(np.median(norm[far])) if far.any() else np.nan
    residual = np.where(far, norm - ndi.gaussian_filter(norm, 8), np.nan)
    with np.errstate(invalid="ignore"):
        row_means = np.nanmean(residual, axis=1)
    gx = np.abs(np.diff(norm, axis=1))
    edges = np.zeros(gx.shape[1], bool)
    edges[7::8] = True
    fg_dark = np.percentile(norm[mask], 5) if mask.any() else np.nan
    return {
        "bg_grain": float(band[far].std() / contrast) if far.any() else np.nan,
        "edge_halo": float((norm[ring].mean() - bg_median) / contrast) if ring.any() else np.nan,
        "row_jitter": float(np.nanstd(row_means) / (np.nanstd(residual) + 1e-6)),
        "dark_outside": float((norm[far] < fg_dark).mean()) if far.any() else np.nan,
        "blockiness": float(gx[:, edges].mean() / (gx[:, ~edges].mean() + 1e-6)),
        **second_round_stats(norm, mask, far, size_px, contrast),
    }


def second_round_stats(norm, mask, far, size_px: float, contrast: float) -> dict:
    """Thickness ramp of the background, edge anisotropy (drift), texture inside particles."""
    filled = np.where(far, norm, np.nan)
    weight = ndi.gaussian_filter(far.astype(np.float32), 32)
    smooth = ndi.gaussian_filter(np.nan_to_num(filled, nan=0.0), 32) / np.maximum(weight, 1e-3)
    level = smooth[weight > 0.2]
    ramp = float(np.subtract(*np.percentile(level, [95, 5])) / contrast) if level.size else np.nan
    gy, gx = np.gradient(ndi.gaussian_filter(norm, 1.0))
    edge = ndi.binary_dilation(mask, iterations=2) & ~ndi.binary_erosion(mask, iterations=2)
    tensor = np.array(
        [[(gx * gx)[edge].sum(), (gx * gy)[edge].sum()], [(gx * gy)[edge].sum(), (gy * gy)[edge].sum()]]
    )
    eigen = np.linalg.eigvalsh(tensor) if edge.any() else np.array([np.nan, np.nan])
    core = ndi.binary_erosion(mask, iterations=max(2, int(size_px / 8)) if np.isfinite(size_px) else 2)
    band = norm - ndi.gaussian_filter(norm, 3.0)
    return {
        "bg_ramp": ramp,
        "edge_anisotropy": float(1 - eigen[0] / max(eigen[1], 1e-9)),
        "fg_texture": float(band[core].std() / contrast) if core.sum() > 20 else np.nan,
        "speckle": speckle(norm, ndi.label(mask)[0], far),
    }


def speckle(norm: np.ndarray, labels: np.ndarray, far: np.ndarray) -> float:
    """Band-pass std (σ 2-4 px) of the background away from the particles over the particles'
    median local contrast (the ring 4-8 px around each against its inside, both smoothed at
    2 px): a support's HRTEM speckle measured against what it hides."""
    if labels.max() == 0 or not far.any():
        return np.nan
    band = ndi.gaussian_filter(norm, 2.0) - ndi.gaussian_filter(norm, 4.0)
    smooth = ndi.gaussian_filter(norm, 2.0)
    ring = (ndi.grey_dilation(labels, size=17) * far).astype(labels.dtype)
    index = np.arange(1, labels.max() + 1)
    local = np.asarray(ndi.median(smooth, ring, index)) - np.asarray(ndi.median(smooth, labels, index))
    contrast = np.nanmedian(local)
    return float(band[far].std() / contrast) if contrast > 1e-3 else np.nan


def real_sets():
    from PIL import Image

    emps = REALDATA / "emps-test-darkfg"
    if emps.is_dir():
        rows = []
        for img_path in sorted((emps / "images").glob("*.png")):
            img = np.asarray(Image.open(img_path).convert("L"), dtype=np.float32)
            labels = np.asarray(Image.open(emps / "segmaps" / img_path.name)).astype(np.int64)
            rows.append(image_stats(img, labels > 0, labels))
        yield "real: EMPS test (dark fg)", rows
    bam = REALDATA / "bam-tio2-tsem"
    if bam.is_dir():
        import tifffile

        rows = []
        for tsem in sorted((bam / "tsem").glob("*.tif")):
            img = tifffile.imread(tsem)[:712].astype(np.float32)
            mask = tifffile.imread(bam / "mask_tsem" / tsem.name)[:712] > 0
            sem_id = int(tsem.stem) - 1
            manual = tifffile.imread(bam / "mask_manual" / f"{sem_id}_m.tif")[:712] > 0
            labels, _ = ndi.label(manual)
            sizes = np.bincount(labels.ravel())
            labels[np.isin(labels, np.flatnonzero(sizes < 20))] = 0
            rows.append(image_stats(img, mask, labels))
        yield "real: BAM TiO2 TSEM", rows
    arda = REALDATA / "arda-supported-catalysts"
    if arda.is_dir():
        from real_accuracy import ARDA_DARK_FIELD

        modes = {"bright field": [], "HAADF": []}
        for img_path in sorted((arda / "images").glob("*.jpg")):
            img = np.asarray(Image.open(img_path).convert("L"), dtype=np.float32)
            labels = box_ellipses(np.loadtxt(arda / "labels" / f"{img_path.stem}.txt", ndmin=2), img.shape)
            mode = "HAADF" if img_path.stem in ARDA_DARK_FIELD else "bright field"
            modes[mode].append(image_stats(img, labels > 0, labels))
        for mode, rows in modes.items():
            yield f"real: ARDA {mode} (box truth as ellipses)", rows


def box_ellipses(yolo: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Labels of the ellipses inscribed in YOLO boxes (class cx cy w h, normalised): the ARDA
    set's box truth as particle masks, close enough for size and contrast statistics."""
    from skimage.draw import ellipse

    h, w = shape
    labels = np.zeros(shape, np.int64)
    for i, (_, cx, cy, bw, bh) in enumerate(yolo, start=1):
        rows, cols = ellipse(cy * h, cx * w, max(bh * h / 2, 0.5), max(bw * w / 2, 0.5), shape=shape)
        labels[rows, cols] = i
    return labels


def synthetic_sets(n: int, presets=None):
    for preset in presets or PRESETS:
        rows = []
        for k in range(n):
            s = synth(preset, rng=100 + k, size=512)
            if s.mask.any() and (~s.mask).any():
                rows.append(image_stats(s.image, s.mask, s.labels))
        yield f"synth: {preset}", rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4, help="generated images per preset")
    parser.add_argument("--presets", nargs="*", help="only these presets (default: all)")
    args = parser.parse_args()
    print("median [p10–p90] over images")
    print("| set | images | " + " | ".join(STATS) + " |")
    print("|---" * (len(STATS) + 2) + "|")
    ranges = {}
    for name, rows in [*real_sets(), *synthetic_sets(args.n, args.presets)]:
        cells = []
        for stat in STATS:
            v = np.array([r[stat] for r in rows], float)
            v = v[np.isfinite(v)]
            p10, p50, p90 = np.percentile(v, [10, 50, 90]) if v.size else (np.nan,) * 3
            ranges[name, stat] = (p10, p90)
            cells.append(f"{p50:.3g} [{p10:.3g}–{p90:.3g}]")
        print(f"| {name} | {len(rows)} | " + " | ".join(cells) + " |")
    print("\nCoverage: is each real set's p10–p90 inside the span of the generated sets' p10–p90?")
    synthetic = [n for n, _ in ranges if n.startswith("synth:")]
    for real in dict.fromkeys(n for n, _ in ranges if n.startswith("real:")):
        verdicts = []
        for stat in STATS:
            lo = min(ranges[n, stat][0] for n in synthetic)
            hi = max(ranges[n, stat][1] for n in synthetic)
            r10, r90 = ranges[real, stat]
            verdicts.append(f"{stat} {'yes' if lo <= r10 and r90 <= hi else 'NO'}")
        print(f"- {real}: " + ", ".join(verdicts))


if __name__ == "__main__":
    main()
