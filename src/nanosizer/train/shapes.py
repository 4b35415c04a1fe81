"""Particle outlines for the network: a star-convex shape head beside the semantic one.

The head reads the decoder's stride-4 features (what the semantic head reads) and predicts,
at every grid point, the object probability (each particle's normalised distance transform)
and the distances to the particle's *whole* outline along 32 rays (targets from the full
masks of generated scenes, hidden parts included: :mod:`nanosizer.separate.star`).

CPU path (no GPU lent): the shipped network stays frozen (weights read back from its ONNX
file), its decoder features are computed once per scene, and only the head trains. One
forward pass of the exported :class:`ShapeNet` gives all three outputs.

    git show 20b48fb:src/nanosizer/data/model/deeplabv3plus_r18.onnx > float.onnx   # the float export
    python -m nanosizer.train.shapes --segmenter float.onnx --out runs/shapes \
        --scenes 600 --steps 2500 --export runs/shapes/model.onnx
    nanosizer quantize runs/shapes/model.onnx model_int8.onnx
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..segment.network import FINE_SWITCH, MODES
from ..separate.star import GRID, N_RAYS, object_probability, ray_targets
from .model import DeepLabV3Plus, polarity_plane

RAY_SCALE = 16.0  # the head's ray outputs are multiplied by this: px at the network's input
SHAPE_PRESET = "training-shapes"


class StarHead(nn.Module):
    """A 1×1 projection, then 3×3 convolutions dilated 1, 2, 4 and 8 (a reach of ±15 grid
    points, 60 px: a particle's centre sees its far edges in the fine features), then the
    object logit and the 32 ray distances (px, ≥ 0) at stride 4."""

    def __init__(self, channels: int = 128, width: int = 64, n_rays: int = N_RAYS, dilations=(1, 2, 4, 8)):
        super().__init__()
        layers = [nn.Conv2d(channels, width, 1), nn.ReLU(inplace=True)]
        for d in dilations:
            layers += [nn.Conv2d(width, width, 3, padding=d, dilation=d), nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*layers)
        self.objects = nn.Conv2d(width, 1, 1)
        self.rays = nn.Conv2d(width, n_rays, 1)

    def forward(self, features):
        body = self.body(features)
        return self.objects(body), F.relu(self.rays(body)) * RAY_SCALE


class ShapeBranch(nn.Module):
    """The shape side of the network, on the shared encoder: its own ASPP and skip (started as
    copies of the segmenter's, then trained) beside the segmenter's decoder features, joined
    by the :class:`StarHead`.

    Outlines of overlapping particles need context of their own: a two-layer head on the
    frozen decoder features alone plateaued at 5.7 px mean ray error (its reach, ±3 grid
    points, did not span a particle). The encoder and the decoder, the costly
    parts, are computed once for both outputs (and a trainable copy of the separable decoder
    cost a second per CPU training step).
    """

    def __init__(self, segmenter: DeepLabV3Plus):
        super().__init__()
        self.aspp = copy.deepcopy(segmenter.aspp)
        self.skip = copy.deepcopy(segmenter.skip)
        channels = segmenter.head.in_channels
        self.head = StarHead(channels * 2 + self.skip[0].out_channels)
        for p in self.parameters():
            p.requires_grad_(True)

    def forward(self, low, high, features, window=None):
        """Object logits and rays; ``window`` (rows, cols slices of the stride-4 grid) crops the
        context after the ASPP saw the whole of ``high``: its image pooling must see what
        inference sees (training on pooled crops shifted every ray at inference)."""
        context = F.interpolate(self.aspp(high), size=low.shape[2:], mode="bilinear", align_corners=False)
        if window is not None:
            context, low, features = (t[(..., *window)] for t in (context, low, features))
        return self.head(torch.cat([context, self.skip(low), features], dim=1))


class ShapeNet(DeepLabV3Plus):
    """The segmenter and the shape branch in one graph: one forward pass, three outputs.

    ``probability`` (N, 1, H, W) as before; ``objects`` (N, 1, H/4, W/4) object probability;
    ``rays`` (N, 32, H/4, W/4) distances in input pixels from grid point (4i, 4j). The
    segmenter's modules keep their names (its weights read back from the file as before);
    the branch's live under ``shapes``.
    """

    def __init__(self, segmenter: DeepLabV3Plus, branch: ShapeBranch):
        super().__init__(segmenter.head.in_channels, segmenter.mean, segmenter.std, segmenter.in_channels)
        self.load_state_dict(segmenter.state_dict())
        self.shapes = branch

    def forward(self, x):
        low, high, features = self.encoded(x)
        logits = F.interpolate(self.head(features), size=x.shape[2:], mode="bilinear", align_corners=False)
        objects, rays = self.shapes(low, high, features)
        return torch.sigmoid(logits), torch.sigmoid(objects), rays


def shape_scene(
    seed: int, size: int, preset: str = SHAPE_PRESET, zooms: tuple[int, ...] = (1,)
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """One training scene of ``preset``: network input (H, W; dark-field scenes inverted, as
    ``--particles bright`` feeds them), object probability and rays on the grid, dark field.

    With ``zooms`` other than (1,), the scene is seen as the fine pass sees a raft
    (:func:`nanosizer.segment.fine_field`): a window around a random particle, enlarged by a
    zoom drawn from ``zooms`` to ``size``, targets from the enlarged truth."""
    from ..segment.network import network_input
    from ..synth import generate, preset_params

    rng = np.random.default_rng(seed)
    scene = generate(preset_params(preset, rng, size), rng, with_table=False)
    dark = bool(scene.params.dark_field)
    image = network_input(scene.image, "bright" if dark else "dark").astype(np.float32)
    labels, full_masks = scene.labels, scene.full_masks
    zoom = int(rng.choice(zooms))
    if zoom > 1:
        image, labels, full_masks = enlarged_view(image, labels, full_masks, zoom, size, rng)
    objects = object_probability(labels)[::GRID, ::GRID]
    rays = ray_targets(labels, full_masks)
    return image, objects, rays.astype(np.float16), dark


def enlarged_view(image, labels, full_masks, zoom: int, size: int, rng):
    """The window of ``image`` (normalised network input) around a random particle pixel that,
    enlarged bilinearly by the integer ``zoom`` as the fine pass does, fills ``size``²; its
    labels and the full masks of the particles in it enlarged to match (pixel centres aligned:
    output pixel i shows input pixel i // zoom), the others None."""
    from ..regions import Region
    from ..segment.network import rescale

    n = min(-(-size // zoom), *image.shape)
    rows, cols = np.nonzero(labels)
    if len(rows):
        k = rng.integers(len(rows))
        r, c = rows[k], cols[k]
    else:
        r, c = image.shape[0] // 2, image.shape[1] // 2
    top = int(np.clip(r - n // 2, 0, image.shape[0] - n))
    left = int(np.clip(c - n // 2, 0, image.shape[1] - n))
    window = np.s_[top : top + n, left : left + n]
    view = rescale(image[window], zoom)[:size, :size]
    enlarge = lambda a: np.repeat(np.repeat(a, zoom, axis=0), zoom, axis=1)  # noqa: E731
    view_labels = enlarge(labels[window])[:size, :size]
    masks: list = [None] * len(full_masks)
    for value in np.unique(view_labels[view_labels > 0]):
        region = full_masks[value - 1]
        masks[value - 1] = Region(
            enlarge(region.mask), (region.top - top) * zoom, (region.left - left) * zoom
        )
    return view, view_labels, masks


def shape_loss(objects_logit, rays, target_objects, target_rays) -> torch.Tensor:
    """StarDist's loss: binary cross-entropy of the object probability, plus the mean absolute
    ray error (in units of ``RAY_SCALE``) weighted by the object probability target."""
    bce = F.binary_cross_entropy_with_logits(objects_logit, target_objects)
    weight = target_objects
    l1 = (weight * (rays - target_rays).abs()).sum() / (weight.sum() * rays.shape[1] + 1e-6)
    return bce + l1 / RAY_SCALE


def frozen_segmenter(onnx_path: Path) -> DeepLabV3Plus:
    """The network of an ONNX model file as a frozen torch module (int8 weights dequantised)."""
    from .from_onnx import model_from_onnx

    model = model_from_onnx(onnx_path)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def feature_pool(
    model,
    seeds,
    size: int,
    workers: int | None = None,
    device: str = "cpu",
    preset: str = SHAPE_PRESET,
    zooms: tuple[int, ...] = (1,),
):
    """Frozen encoder (stride 4 and 16) and decoder features (float16) and targets of the scenes ``seeds``,
    generated in ``workers`` processes (default: one per core) while this one runs the encoder;
    kept on ``device``."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from .data import default_workers

    workers = workers or default_workers()
    lows, highs, feats, objects, rays = [], [], [], [], []
    with ProcessPoolExecutor(workers, mp_context=get_context("forkserver")) as pool:
        n = len(seeds)
        for image, obj, ray, dark in pool.map(shape_scene, seeds, [size] * n, [preset] * n, [zooms] * n):
            with torch.no_grad():
                x = torch.from_numpy(image)[None, None].to(device)
                if model.in_channels > 1:
                    x = polarity_plane(x, dark)
                low, high, features = model.encoded(x)  # the encoder once for all three
                feats.append(features[0].half())
            lows.append(low[0].half())
            highs.append(high[0].half())
            objects.append(torch.from_numpy(obj)[None].to(device))
            rays.append(torch.from_numpy(ray).to(device))
    return tuple(torch.stack(t) for t in (lows, highs, feats, objects, rays))


def train_head(
    segmenter_onnx: Path,
    out: Path,
    scenes: int = 480,
    steps: int = 2000,
    batch: int = 8,
    size: int = 384,
    lr: float = 1e-3,
    seed: int = 0,
    val_scenes: int = 24,
    crop: int = 64,
    device: str = "cpu",
    preset: str = SHAPE_PRESET,
    init: Path | None = None,
    zooms: tuple[int, ...] = (1,),
    init_mode: str | None = None,
) -> dict:
    """Train the shape branch on the frozen encoder of a segmenter; write ``out/head.pt`` and
    ``out/log.json``. The branch's ASPP and skip copies learn at a third of the head's rate.
    Each batch takes one random window of ``crop`` grid points (a multiple of 4) from every scene.
    ``device``: 'cpu' or 'cuda' (features, branch and steps there; the scenes are made on the CPU).
    ``init``: a ``head.pt`` to continue from (a fine-tune: its weights, a fresh schedule), or an
    ONNX model with a shape head (its branch read back, int8 dequantised), instead of the
    segmenter's copies and a new head; ``init_mode``: that ONNX model's branch of this imaging
    mode's decoder, or its fine head (``fine_shapes``). ``zooms``: scenes seen enlarged as the
    fine pass sees rafts (:func:`shape_scene`), for a fine head.
    """
    if init_mode and not str(init).endswith(".onnx"):
        raise ValueError("a mode's shape branch to start from is read from an exported model: --init M.onnx")
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = frozen_segmenter(segmenter_onnx).to(device)
    tic = time.perf_counter()
    lows, highs, feats, objects, rays = feature_pool(
        model,
        [30_000 + seed * 100_000 + k for k in range(scenes)],
        size,
        device=device,
        preset=preset,
        zooms=zooms,
    )
    val = feature_pool(
        model, [29_000 + k for k in range(val_scenes)], size, device=device, preset=preset, zooms=zooms
    )
    t_data = time.perf_counter() - tic
    crop = min(crop, lows.shape[2] // 4 * 4, lows.shape[3] // 4 * 4)
    branch = ShapeBranch(model)
    if init is not None and str(init).endswith(".onnx"):
        from .from_onnx import branch_state_from_onnx

        branch.load_state_dict(branch_state_from_onnx(init, init_mode))
    elif init is not None:
        branch.load_state_dict(torch.load(init, map_location="cpu", weights_only=False)["branch"])
    branch.to(device)
    branch.eval()  # batch norms stay the folded affine maps, no dropout: a fine-tune of fixed statistics
    context = [p for name, p in branch.named_parameters() if not name.startswith("head.")]
    opt = torch.optim.AdamW(
        [{"params": branch.head.parameters()}, {"params": context, "lr": lr / 3}], lr=lr, weight_decay=1e-4
    )
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[lr, lr / 3], total_steps=steps, pct_start=0.05)
    generator = torch.Generator().manual_seed(seed)
    history = []
    tic = time.perf_counter()
    for step in range(steps):
        idx = torch.randint(0, len(lows), (batch,), generator=generator).to(device)
        r, c = (
            int(v) * 4 for v in torch.randint(0, (lows.shape[2] - crop) // 4 + 1, (2,), generator=generator)
        )
        window = (slice(r, r + crop), slice(c, c + crop))  # on the stride-4 grid
        logit, pred = branch(lows[idx].float(), highs[idx].float(), feats[idx].float(), window)
        loss = shape_loss(logit, pred, objects[idx][(..., *window)], rays[idx][(..., *window)].float())
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 250 == 0 or step == steps - 1:
            vloss = validation_loss(branch, val)
            history.append({"step": step, "loss": loss.item(), "val_loss": vloss})
            print(f"step {step}: loss {loss.item():.4f}, validation {vloss:.4f}", flush=True)
            torch.save({"branch": branch.state_dict(), "step": step}, out / "head.pt")
    t_train = time.perf_counter() - tic
    log = {
        "segmenter": str(segmenter_onnx),
        "scenes": scenes,
        "scene_size": size,
        "preset": preset,
        "steps": steps,
        "batch": batch,
        "crop_px": crop * GRID,
        "lr": lr,
        "seed": seed,
        "init": None if init is None else str(init),
        "init_mode": init_mode,
        "zooms": list(zooms),
        "device": device,
        "data_s": round(t_data),
        "train_s": round(t_train),
        "history": history,
    }
    torch.save({"branch": branch.state_dict(), "step": steps, "log": log}, out / "head.pt")
    (out / "log.json").write_text(json.dumps(log, indent=1))
    return log


def validation_loss(branch: ShapeBranch, val, chunk: int = 8) -> float:
    """Mean :func:`shape_loss` over the validation scenes, a few at a time (bounded memory)."""
    lows, highs, feats, objects, rays = val
    total = 0.0
    with torch.no_grad():
        for k in range(0, len(lows), chunk):
            part = slice(k, k + chunk)
            logit, pred = branch(lows[part].float(), highs[part].float(), feats[part].float())
            total += float(shape_loss(logit, pred, objects[part], rays[part].float())) * len(logit)
    return total / len(lows)


def export_shape_model(
    segmenter_onnx: Path, head_checkpoint: Path, out: Path, metadata: dict | None = None
) -> Path:
    """Write ``out`` (.onnx, float): the segmenter of ``segmenter_onnx`` and the trained shape
    branch as one :class:`ShapeNet` graph (outputs ``probability``, ``objects``, ``rays``), atomically.

    The segmenter's own metadata is carried over; the head's training log and ``metadata``
    are added under ``shape_head``. ``nanosizer quantize`` then makes the shipped int8 file.
    """
    import onnx

    from .export import save_model

    segmenter = frozen_segmenter(segmenter_onnx)
    branch, log = trained_branch(segmenter, head_checkpoint)
    model = ShapeNet(segmenter, branch).eval()
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    dynamic = {0: "n", 2: "h", 3: "w"}
    torch.onnx.export(
        model,
        (torch.rand(1, segmenter.in_channels, 256, 256),),
        str(tmp),
        input_names=["image"],
        output_names=["probability", "objects", "rays"],
        dynamic_axes={"image": dynamic, "probability": dynamic, "objects": dynamic, "rays": dynamic},
        opset_version=17,
        dynamo=False,
    )
    proto = onnx.load(str(tmp))
    source = {p.key: p.value for p in onnx.load(str(segmenter_onnx), load_external_data=False).metadata_props}
    info = json.loads(source.get("nanosizer", "{}"))
    info["shape_head"] = {**log, "n_rays": N_RAYS, "grid": GRID, **(metadata or {})}
    return save_model(proto, out, {**source, "nanosizer": json.dumps(info)})


def trained_branch(segmenter: DeepLabV3Plus, head_checkpoint: Path) -> tuple[ShapeBranch, dict]:
    """The shape branch of a ``head.pt`` (:func:`train_head`) on ``segmenter``, and the training
    log saved with it (empty for a checkpoint written before training ended)."""
    state = torch.load(head_checkpoint, map_location="cpu", weights_only=False)
    branch = ShapeBranch(segmenter)
    branch.load_state_dict(state["branch"])
    return branch, state.get("log", {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segmenter", type=Path, required=True, help="float ONNX model to freeze")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--scenes", type=int, default=480)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--export", type=Path, default=None, help="write segmenter + head as this ONNX file")
    parser.add_argument("--skip-training", action="store_true", help="only export the head in --out")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda with a GPU")
    parser.add_argument("--preset", default=SHAPE_PRESET, help=f"scene preset (default {SHAPE_PRESET})")
    parser.add_argument(
        "--init", type=Path, default=None, help="head.pt, or an ONNX model with a shape head, to fine-tune"
    )
    parser.add_argument(
        "--init-mode",
        choices=(*MODES, FINE_SWITCH),
        default=None,
        help=f"with an ONNX --init: the branch of this mode's decoder, or the fine head ({FINE_SWITCH})",
    )
    parser.add_argument("--seed", type=int, default=0, help="scene seeds 30,000 + 100,000·seed + k")
    parser.add_argument("--lr", type=float, default=1e-3, help="the head's peak learning rate")
    parser.add_argument(
        "--zooms", type=int, nargs="+", default=[1], help="scenes seen enlarged by these (a fine head: 3 5)"
    )
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"--device {args.device}: no such device here (cpu, or cuda with a GPU)")
    torch.set_num_threads(2)
    if not args.skip_training:
        train_head(
            args.segmenter,
            args.out,
            args.scenes,
            args.steps,
            args.batch,
            args.size,
            lr=args.lr,
            seed=args.seed,
            device=args.device,
            preset=args.preset,
            init=args.init,
            zooms=tuple(args.zooms),
            init_mode=args.init_mode,
        )
    if args.export:
        export_shape_model(args.segmenter, args.out / "head.pt", args.export)


if __name__ == "__main__":
    main()
