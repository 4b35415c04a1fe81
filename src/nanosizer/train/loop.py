"""The training run: seeded, resumable, validated, keeping the best checkpoint.

Batch-norm statistics are recalibrated on fresh training batches before every validation
and before export, so evaluation never uses running averages that lag the weights.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from .data import (
    Pool,
    StreamingPool,
    augmented_batch,
    default_workers,
    device_pool,
    folder_pool,
    merge,
    synthetic_pool,
)

log = logging.getLogger(__name__)


@dataclass
class Recipe:
    """Everything that defines a training run (saved with every checkpoint)."""

    steps: int = 3000
    batch: int = 8
    tile: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    lr_steps: tuple[float, ...] = (0.6, 0.85)  # fractions of the run where lr drops ×0.3
    warmup: int = 100
    pool_size: int = 1600
    val_size: int = 48
    scene_size: int = 512
    val_every: int = 250
    seed: int = 0
    decoder_channels: int = 128
    threads: int = 2
    preset: str = "training"  # synthetic scene preset of the pool
    val_preset: str = "training"  # synthetic scene preset of the validation set
    init: str | None = None  # start from these weights: a checkpoint (.pt) or an exported model (.onnx)
    init_mode: str | None = None  # an .onnx init: the decoder of this imaging mode (segment.network.MODES)
    frozen_bn: bool = False  # batch norms stay fixed affine maps (weights from an ONNX file, folded)
    device: str = "cpu"  # "cuda": pool, batches and steps on the GPU, bf16 autocast
    pool_fill: float = 0.5  # on a GPU: fraction of the run by which the streaming pool is full
    distill: float = 0.0  # weight of matching the --init model where it is already right (0: off)
    distill_iou: float = 0.8  # "already right": its mask's IoU with a tile's truth at least this
    freeze_encoder: bool = False  # train ASPP, decoder and head only (the CPU path of a fine-tune)
    in_channels: int = 1  # 2: the image and a polarity plane (dark field 1), see model.polarity_plane
    cuda_graphs: bool = False  # GPU: the training step's network replayed as CUDA graphs (torch.compile)


def pool_target(recipe: Recipe, step: int) -> int:
    """Scenes a GPU run needs in its pool at ``step``: a tenth at once, all by ``pool_fill``."""
    start = max(1, recipe.pool_size // 10)
    ramp = max(1.0, recipe.pool_fill * recipe.steps)
    return min(recipe.pool_size, start + int((recipe.pool_size - start) * step / ramp))


def learning_rate(recipe: Recipe, step: int) -> float:
    """Linear warm-up, then steps down by ×0.3 at the recipe's fractions of the run."""
    if step < recipe.warmup:
        return recipe.lr * (step + 1) / recipe.warmup
    drops = sum(step >= f * recipe.steps for f in recipe.lr_steps)
    return recipe.lr * 0.3**drops


def loss_fn(logits, target):
    """Binary cross-entropy plus soft Dice (Dice keeps sparse particle maps from collapsing)."""
    import torch.nn.functional as F

    bce = F.binary_cross_entropy_with_logits(logits, target)
    prob = logits.sigmoid()
    inter = (prob * target).sum(dim=(1, 2, 3))
    dice = 1 - (2 * inter + 1) / (prob.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3)) + 1)
    return bce + dice.mean()


def distillation_loss(logits, target, teacher_prob, min_iou: float):
    """Keep what the starting model knows: binary cross-entropy towards its probabilities on the
    tiles where its mask already agrees with the truth (IoU ≥ ``min_iou``; both empty counts),
    averaged over the batch. Tiles of the new imaging modes, where it is wrong, learn from the
    truth alone. Returns the loss and the share of tiles it covered."""
    import torch
    import torch.nn.functional as F

    pred, truth = teacher_prob > 0.5, target > 0.5
    inter = (pred & truth).sum(dim=(1, 2, 3)).float()
    union = (pred | truth).sum(dim=(1, 2, 3)).float()
    iou = torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))
    known = (iou >= min_iou).float()
    bce = F.binary_cross_entropy_with_logits(logits, teacher_prob, reduction="none").mean(dim=(1, 2, 3))
    return (known * bce).mean(), known.mean()


def training_mode(model, recipe: Recipe) -> None:
    """Put the model in training mode; batch norms stay in eval mode when the recipe fixes them
    (all of them, or the encoder's when it is frozen)."""
    import torch

    model.train()
    if recipe.frozen_bn or recipe.freeze_encoder:
        fixed = model if recipe.frozen_bn else model.encoder
        for m in fixed.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eval()


def initial_weights(path: str, mode: str | None = None) -> dict:
    """Model weights to start from: a checkpoint's, or an exported model's (batch norms folded;
    its own decoder width; ``mode``: with the decoder of that imaging mode).

    Raises ValueError naming the file when it is neither.
    """
    import torch

    if path.endswith(".onnx"):
        from .from_onnx import state_from_onnx

        return state_from_onnx(path, mode=mode)
    try:
        return torch.load(path, map_location="cpu", weights_only=False)["model"]
    except Exception as exc:  # torch raises pickle, zip and key errors alike
        raise ValueError(f"{path}: not a training checkpoint ({type(exc).__name__})") from None


def recalibrate_batchnorm(model, pool: Pool, recipe: Recipe, batches: int = 12, seed: int = 0) -> None:
    """Replace running batch-norm statistics by exact averages over fresh training batches.

    Fixed batch norms (``recipe.frozen_bn``) are left alone: they carry folded weights, not statistics.
    """
    import torch

    if recipe.frozen_bn:
        return
    rng = np.random.default_rng([recipe.seed, 7, seed])
    frozen = set(model.encoder.modules()) if recipe.freeze_encoder else set()
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d) and m not in frozen]
    training_mode(model, recipe)
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    with torch.no_grad(), _autocast(recipe):
        for _ in range(batches):
            x, _ = augmented_batch(pool, rng, recipe.batch, recipe.tile, planes=recipe.in_channels > 1)
            model.logits(x.contiguous(memory_format=torch.channels_last))
    for m in norms:
        m.momentum = 0.1
    model.eval()


def _autocast(recipe: Recipe):
    """bf16 autocast on a GPU; a no-op context on the CPU (whose runs stay in float32)."""
    import contextlib

    import torch

    if recipe.device.startswith("cuda"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def compiled_logits(model, mode: str = "reduce-overhead"):
    """What :func:`train_step` calls, the network's logits under ``torch.compile``;
    ``reduce-overhead`` replays them as CUDA graphs (on a GPU the step is launch-bound)."""
    from types import SimpleNamespace

    import torch

    return SimpleNamespace(logits=torch.compile(model.logits, mode=mode))


def train_step(model, opt, x, y, recipe: Recipe, lr: float, teacher=None):
    """One optimiser step on a batch; returns the loss as a (not yet synchronised) tensor.

    With a ``teacher`` (the starting model, frozen) and ``recipe.distill`` > 0, the loss adds
    :func:`distillation_loss`.
    """
    import torch

    for group in opt.param_groups:
        group["lr"] = lr
    opt.zero_grad(set_to_none=True)
    x = x.contiguous(memory_format=torch.channels_last)
    with _autocast(recipe):
        logits = model.logits(x)
    loss = loss_fn(logits.float(), y)
    if teacher is not None and recipe.distill > 0:
        with torch.no_grad(), _autocast(recipe):
            teacher_prob = teacher(x).float()
        kept, _ = distillation_loss(logits.float(), y, teacher_prob, recipe.distill_iou)
        loss = loss + recipe.distill * kept
    loss.backward()
    opt.step()
    return loss.detach()


def validate(model, val: Pool, recipe: Recipe | None = None) -> float:
    """Particle IoU over the validation scenes, each predicted whole at its own scale."""
    import torch

    from .model import polarity_plane

    recipe = recipe or Recipe()
    inter = union = 0
    model.eval()
    with torch.no_grad(), _autocast(recipe):
        for start in range(0, len(val), 4):
            x = torch.from_numpy(val.images[start : start + 4]).to(recipe.device)
            x = x.float().div(255).unsqueeze(1)
            if recipe.in_channels > 1:
                x = polarity_plane(x, val.dark[start : start + 4])
            prob = model(x.contiguous(memory_format=torch.channels_last))[:, 0]
            pred = prob.float().cpu().numpy() > 0.5
            truth = val.masks[start : start + 4]
            inter += int(np.logical_and(pred, truth).sum())
            union += int(np.logical_or(pred, truth).sum())
    return inter / max(union, 1)


def train(
    out: Path,
    recipe: Recipe,
    data: Path | None = None,
    resume: bool = True,
    progress: bool = True,
    stop_after: int | None = None,
    workers: int | None = None,
    max_minutes: float | None = None,
):
    """Train into ``out`` (checkpoints ``last.pt``/``best.pt``, ``log.jsonl``); returns the best IoU.

    ``stop_after`` ends the run early at that step (after its checkpoint), keeping the
    schedule of the full ``recipe.steps``: a first stage of a staged training.
    ``max_minutes`` is a safety net for lent machines: past it the run validates, saves and
    ends wherever it is. ``workers`` processes generate the scenes (default: every core, one fewer
    while a GPU run trains beside them).
    """
    import torch
    from tqdm import tqdm

    from .model import DeepLabV3Plus, widened_input

    if recipe.pool_size == 0 and data is None:
        raise ValueError("no training data: a synthetic pool of 0 scenes needs own data (--data DIR)")
    if recipe.cuda_graphs and not recipe.device.startswith("cuda"):
        raise ValueError("CUDA graphs need a GPU (--device cuda)")
    start = None  # the starting weights, read once: an exported model fixes the width too
    given = 1  # the input channels the starting weights have (an exported model's own)
    if recipe.init_mode and not (recipe.init or "").endswith(".onnx"):
        raise ValueError("a mode's decoder to start from is read from an exported model: --init M.onnx")
    if recipe.init and recipe.init.endswith(".onnx"):
        start = initial_weights(recipe.init, recipe.init_mode)
        given = int(start["encoder.stem.0.0.weight"].shape[1])
    if recipe.freeze_encoder and recipe.in_channels > given:
        raise ValueError("a new polarity plane enters through the encoder: not with --freeze-encoder")
    if start is not None:
        # the exported model fixes the width, and its batch norms are folded into the convolutions;
        # it keeps the input channels it has (a polarity plane learned before, frozen or not)
        recipe = replace(
            recipe,
            frozen_bn=True,
            decoder_channels=int(start["head.weight"].shape[1]),
            in_channels=max(given, recipe.in_channels),
        )
        start = widened_input(start, recipe.in_channels)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(recipe.threads)
    torch.manual_seed(recipe.seed)
    torch.backends.cudnn.benchmark = True  # fixed tile size: pick the fastest kernels once
    cache = out / "cache"
    gpu = recipe.device != "cpu"
    workers = workers or default_workers(streaming=gpu and data is None)
    # weights first: a bad --init fails before minutes of scene generation
    model = DeepLabV3Plus(recipe.decoder_channels, in_channels=recipe.in_channels)
    model = model.to(recipe.device, memory_format=torch.channels_last)
    if recipe.freeze_encoder:  # no gradient reaches the encoder: its features stay the shipped ones
        model.encoder.requires_grad_(False)
    trained = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trained, lr=recipe.lr, weight_decay=recipe.weight_decay)
    step, best = 0, -1.0
    last = out / "last.pt"
    fresh = not (resume and last.exists())
    if recipe.init and start is None and (fresh or recipe.distill > 0):  # a checkpoint, read once
        start = widened_input(initial_weights(recipe.init), recipe.in_channels)
    if recipe.init and fresh:
        model.load_state_dict(start)
        log.info("weights from %s", recipe.init)
    teacher = None
    if recipe.distill > 0:
        if not recipe.init:
            raise ValueError("distillation keeps what a starting model knows: it needs --init")
        teacher = DeepLabV3Plus(recipe.decoder_channels, in_channels=recipe.in_channels)
        teacher = teacher.to(recipe.device, memory_format=torch.channels_last)
        teacher.load_state_dict(start)
        teacher.eval().requires_grad_(False)
    scene_seed = recipe.seed * 1_000_003
    val = synthetic_pool(
        recipe.val_size, scene_seed + 10_000_000, recipe.scene_size, recipe.val_preset, workers, cache
    )
    if gpu and data is None:  # fills in the background while the GPU trains (pool_size > 0 here)
        pool = StreamingPool(
            recipe.pool_size,
            scene_seed,
            recipe.scene_size,
            recipe.preset,
            workers,
            recipe.device,
        )
    else:
        pools = [folder_pool(data, recipe.scene_size)] if data is not None else []
        if recipe.pool_size:
            synthetic = synthetic_pool(
                recipe.pool_size, scene_seed, recipe.scene_size, recipe.preset, workers, cache
            )
            pools.insert(0, synthetic)
        pool = merge(*pools)
        if gpu:
            pool = device_pool(pool, recipe.device)
    if resume and last.exists():
        state = torch.load(last, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step, best = state["step"], state["best_iou"]
        log.info("resumed at step %d (best IoU %.4f)", step, best)
    stepped = model  # what the optimiser step runs; validation and export use the model itself
    if recipe.cuda_graphs:  # the step is launch-bound: 2.8x faster replayed (benchmarks/train_speed.py)
        stepped = compiled_logits(model)
    bar = tqdm(total=recipe.steps, initial=step, disable=not progress, desc="training", unit="step")
    running, t0 = [], time.perf_counter()
    end = min(recipe.steps, stop_after or recipe.steps)
    while step < end:
        training_mode(model, recipe)
        if isinstance(pool, StreamingPool):
            pool.fill(pool_target(recipe, step))
        rng = np.random.default_rng([recipe.seed, step])  # batch depends only on (seed, step): resumable
        x, y = augmented_batch(pool, rng, recipe.batch, recipe.tile, planes=recipe.in_channels > 1)
        running.append(train_step(stepped, opt, x, y, recipe, learning_rate(recipe, step), teacher))
        step += 1
        bar.update(1)
        if step % 50 == 0:
            bar.set_postfix(loss=f"{float(torch.stack(running[-50:]).mean()):.3f}", best=f"{best:.3f}")
        out_of_time = max_minutes is not None and time.perf_counter() - t0 > 60 * max_minutes
        if step % recipe.val_every == 0 or step == end or out_of_time:
            recalibrate_batchnorm(model, pool, recipe, seed=step)
            iou = validate(model, val, recipe)
            record = {
                "step": step,
                "loss": float(torch.stack(running).mean()),
                "val_iou": iou,
                "lr": learning_rate(recipe, step - 1),
                "elapsed_s": round(time.perf_counter() - t0, 1),
            }
            running = []
            with open(out / "log.jsonl", "a") as fh:
                fh.write(json.dumps(record) + "\n")
            state = {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "step": step,
                "best_iou": max(best, iou),
                "recipe": asdict(recipe),
            }
            if iou > best:
                best = iou
                torch.save(state, out / "best.tmp")
                (out / "best.tmp").replace(out / "best.pt")
            torch.save(state, out / "last.tmp")
            (out / "last.tmp").replace(last)
            bar.write(f"step {step}: loss {record['loss']:.4f}  val IoU {iou:.4f}  best {best:.4f}")
            if out_of_time:
                log.warning("stopped at step %d: past the %.1f-minute limit", step, max_minutes)
                break
    bar.close()
    if isinstance(pool, StreamingPool):
        pool.close()
    return best
