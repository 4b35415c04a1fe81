"""Training data: a seeded pool of synthetic micrographs and batches of augmented tiles.

Generating a scene costs ~0.5 s on one core, a training step ~1.2 s on two CPU cores (or a
few milliseconds on a GPU), so scenes are made once per run (in parallel, cached on disk)
and every batch draws new random views of them: scale (the whole image downscaled
included), rotation, flips, gamma, noise and blur. On a GPU the pool lives in device memory,
fills in the background while training starts (``StreamingPool``), and the views are cut
there. The user's own labelled micrographs (``--data DIR``) join the pool the same way.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..segment.preprocess import normalise


@dataclass
class Pool:
    """Normalised images (uint8, 0–255 for 0–1), their particle masks, all the same size, and
    which are dark-field scenes (fed inverted; the polarity plane of a two-channel network)."""

    images: np.ndarray  # (n, H, W) uint8
    masks: np.ndarray  # (n, H, W) bool
    dark: np.ndarray | None = None  # (n,) bool, as the images are (array or tensor); not given: none

    def __post_init__(self):
        if self.dark is None:  # own labelled micrographs: bright field
            if isinstance(self.images, np.ndarray):
                self.dark = np.zeros(len(self), bool)
            else:  # a tensor pool: flags where its images are
                self.dark = self.images.new_zeros(len(self), dtype=bool)

    def __len__(self) -> int:
        return len(self.images)


def _scene(args) -> tuple[np.ndarray, np.ndarray, bool]:
    from ..synth.generate import generate
    from ..synth.presets import preset_params

    seed, size, preset = args
    rng = np.random.default_rng(seed)
    scene = generate(preset_params(preset, rng, size), rng, with_table=False)
    image = np.round(normalise(scene.image) * 255).astype(np.uint8)
    if scene.params.dark_field:  # as inference sees it with --particles bright: dark particles
        image = 255 - image
    return image, scene.mask, bool(scene.params.dark_field)


def _executor(workers: int) -> ProcessPoolExecutor:
    """Scene workers started by a fork server: safe beside a CUDA context in the parent."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"))


def default_workers(streaming: bool = False) -> int:
    """Scene-generating processes: every core, or all but the training loop's when streaming."""
    return max(1, (os.cpu_count() or 2) - int(streaming))


def synthetic_pool(
    n: int, seed: int, size: int = 512, preset: str = "training", workers: int = 2, cache: Path | None = None
) -> Pool:
    """``n`` generated scenes with seeds ``seed .. seed + n - 1``; cached in ``cache`` if given."""
    key = hashlib.sha1(f"{n}-{seed}-{size}-{preset}".encode()).hexdigest()[:12]
    path = Path(cache) / f"pool-{key}.npz" if cache else None
    if path is not None and path.exists():
        with np.load(path) as data:
            if "dark" in data.files:  # caches from before the flags are made again
                return Pool(data["images"], data["masks"], data["dark"])
    jobs = [(seed + i, size, preset) for i in range(n)]
    if workers > 1:
        with _executor(workers) as ex:
            scenes = list(ex.map(_scene, jobs, chunksize=8))
    else:
        scenes = [_scene(j) for j in jobs]
    pool = Pool(
        np.stack([s[0] for s in scenes]), np.stack([s[1] for s in scenes]), np.array([s[2] for s in scenes])
    )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, images=pool.images, masks=pool.masks, dark=pool.dark)
        tmp.replace(path)
    return pool


class StreamingPool:
    """Generated scenes in device memory, filled in seed order by background processes.

    ``fill(k)`` blocks until the first ``k`` scenes are in. The training loop asks for a
    number that depends on the step alone, so batches are the same however fast the workers
    are; the GPU starts training on the first scenes instead of waiting for all of them.
    """

    def __init__(self, n: int, seed: int, size: int, preset: str, workers: int, device: str):
        import torch

        self.images = torch.zeros((n, size, size), dtype=torch.uint8, device=device)
        self.masks = torch.zeros((n, size, size), dtype=torch.bool, device=device)
        self.dark = torch.zeros(n, dtype=torch.bool, device=device)
        self.ready = 0
        self._executor = _executor(workers)
        self._futures = [self._executor.submit(_scene, (seed + i, size, preset)) for i in range(n)]

    def __len__(self) -> int:
        return self.ready

    def fill(self, k: int) -> None:
        """Wait until the first ``min(k, n)`` scenes are in device memory."""
        import torch

        while self.ready < min(k, len(self._futures)):
            image, mask, dark = self._futures[self.ready].result()
            self._futures[self.ready] = None  # free the worker's copy
            self.images[self.ready] = torch.from_numpy(image)
            self.masks[self.ready] = torch.from_numpy(mask)
            self.dark[self.ready] = dark
            self.ready += 1
            if self.ready == len(self._futures):  # all in: the workers are done
                self.close()

    def close(self) -> None:
        """Stop the scene workers (pending scenes are dropped)."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def device_pool(pool: Pool, device: str) -> Pool:
    """The same pool as tensors on ``device`` (batches are then cut there)."""
    import torch

    return Pool(
        torch.from_numpy(pool.images).to(device),
        torch.from_numpy(pool.masks).to(device),
        torch.from_numpy(pool.dark).to(device),
    )


def folder_pool(folder: Path, size: int = 512) -> Pool:
    """User-labelled micrographs: ``DIR/images/<name>.*`` with masks ``DIR/masks/<name>*``.

    Each pair is cut into ``size`` squares (reflect-padded), so any image size can join.
    """
    from ..io import read_micrographs
    from ..io.masks import match_masks, read_mask

    folder = Path(folder)
    images, masks = [], []
    files = sorted(p for p in (folder / "images").iterdir() if p.is_file())
    for image_path, mask_path in match_masks(files, sorted((folder / "masks").iterdir())):
        for frame in read_micrographs(image_path, pixel_size_nm=1.0):
            mask = read_mask(mask_path)
            if mask.shape != frame.data.shape:
                raise ValueError(f"{mask_path}: mask {mask.shape} differs from image {frame.data.shape}")
            img = np.round(normalise(frame.data) * 255).astype(np.uint8)
            for r in range(0, max(1, img.shape[0] - size // 2), size):
                for c in range(0, max(1, img.shape[1] - size // 2), size):
                    images.append(_pad(img[r : r + size, c : c + size], size))
                    masks.append(_pad(mask[r : r + size, c : c + size], size))
    if not images:
        raise FileNotFoundError(f"{folder}: no images in {folder / 'images'}")
    return Pool(np.stack(images), np.stack(masks))


def _pad(a: np.ndarray, size: int) -> np.ndarray:
    return np.pad(a, ((0, size - a.shape[0]), (0, size - a.shape[1])), mode="reflect")


def merge(*pools: Pool) -> Pool:
    """One pool from several of the same image size."""
    return Pool(
        np.concatenate([p.images for p in pools]),
        np.concatenate([p.masks for p in pools]),
        np.concatenate([p.dark for p in pools]),
    )


def augmented_batch(pool: Pool, rng: np.random.Generator, batch: int, tile: int = 256, planes: bool = False):
    """A batch of augmented views: (images, masks) float32 tensors of shape (batch, 1, tile, tile);
    with ``planes`` the images carry each scene's polarity plane as a second channel.

    The geometric part (scale, rotation, flips, crop position) is one affine resampling per
    sample on torch's grid sampler; the photometric part (gamma, blur, noise) follows, and the
    tile is re-normalised robustly exactly as inference normalises a micrograph.
    """
    import torch
    import torch.nn.functional as F

    # Every random number is drawn here on the host, in one fixed order, and crosses to the
    # device in one pinned, non-blocking copy: a blocking copy per value would make the host
    # wait for the previous step's kernels each time (on a GPU, most of a step's 25 ms).
    size = pool.images.shape[1]
    idx = rng.integers(len(pool), size=batch)
    # Scale: output tile covers tile*zoom source pixels; a quarter of the views show the whole image.
    zoom = np.exp(rng.uniform(np.log(0.5), np.log(2.0), batch))
    whole = rng.random(batch) < 0.25
    zoom[whole] = size / tile
    angle = rng.uniform(0, 2 * np.pi, batch)
    flip = np.where(rng.random(batch) < 0.5, -1.0, 1.0)
    half = np.minimum(zoom * tile / size, 1.0)  # half-extent of the view in [-1, 1] units
    centre = rng.uniform(-1 + half[:, None], 1 - half[:, None], (batch, 2)) * (1 - whole[:, None])
    cos, sin = np.cos(angle) * half, np.sin(angle) * half
    theta = np.stack(
        [np.stack([cos * flip, -sin, centre[:, 0]], 1), np.stack([sin * flip, cos, centre[:, 1]], 1)], 1
    )
    # Photometric: gamma, brightness/contrast, optional blur, noise. Values stay those of a
    # micrograph normalised as a whole (as inference does), so tiles are not re-normalised.
    gamma = np.exp(rng.uniform(-0.4, 0.4, batch))
    gain = rng.uniform(0.8, 1.2, batch)
    offset = rng.uniform(-0.1, 0.1, batch)
    blur = rng.uniform(0.5, 1.5) if rng.random() < 0.3 else None
    noise = rng.uniform(0, 0.06, batch)
    on_device = isinstance(pool.images, torch.Tensor)  # a pool in (GPU) device memory
    device = pool.images.device if on_device else torch.device("cpu")
    packed = np.concatenate(
        [theta.reshape(batch, 6), np.stack([gamma, gain, offset, noise, idx], 1)], 1
    ).astype(np.float32)  # pool indices are exact in float32 (below 2**24)
    values = torch.from_numpy(packed)
    if device.type == "cuda":
        values = values.pin_memory().to(device, non_blocking=True)
    if on_device:
        picked = values[:, 10].long()
        src = pool.images[picked].float().div_(255).unsqueeze(1)
        msk = pool.masks[picked].float().unsqueeze(1)
    else:
        src = torch.from_numpy(pool.images[idx]).float().div_(255).unsqueeze(1)
        msk = torch.from_numpy(pool.masks[idx]).float().unsqueeze(1)
    grid = F.affine_grid(values[:, :6].view(batch, 2, 3), (batch, 1, tile, tile), align_corners=False)
    x = F.grid_sample(src, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    y = (
        F.grid_sample(msk, grid, mode="bilinear", padding_mode="reflection", align_corners=False) > 0.5
    ).float()
    gamma, gain, offset, noise = (values[:, i].view(-1, 1, 1, 1) for i in range(6, 10))
    x = x.clamp(0, 1).pow(gamma) * gain + offset
    if blur is not None:
        x = gaussian_blur(x, blur)
    if on_device:  # drawn where the batch is, from a generator seeded by ``rng``
        gen = torch.Generator(device).manual_seed(int(rng.integers(2**62)))
        x = x + noise * torch.randn(x.shape, generator=gen, device=device)
    else:
        x = x + noise * torch.from_numpy(rng.standard_normal(x.shape).astype(np.float32))
    x = x.clamp(0, 1)
    if planes:
        from .model import polarity_plane

        x = polarity_plane(x, pool.dark[picked] if on_device else pool.dark[idx])
    return x.contiguous(), y


def gaussian_blur(x, sigma: float):
    """Separable Gaussian blur of a (B, 1, H, W) tensor with reflected borders."""
    import torch
    import torch.nn.functional as F

    k = torch.arange(-3, 4, dtype=torch.float32, device=x.device)
    k = torch.exp(-(k**2) / (2 * sigma**2))
    k = k / k.sum()
    x = F.conv2d(F.pad(x, (3, 3, 0, 0), mode="reflect"), k.view(1, 1, 1, 7))
    return F.conv2d(F.pad(x, (0, 0, 3, 3), mode="reflect"), k.view(1, 1, 7, 1))
