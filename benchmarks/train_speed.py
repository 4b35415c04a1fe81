"""Training speed: optimiser steps per second of the real training step, on CPU or GPU.

    python benchmarks/train_speed.py [--device cpu|cuda] [--batch 8 32] [--steps 20]
    python benchmarks/train_speed.py --device cuda --batch 32 --plan-seconds 400
    python benchmarks/train_speed.py --device cuda --batch 32 --breakdown

``--breakdown`` says where a step's time goes (issue 30): the augmented batch alone, the
optimiser step alone on a fixed batch, the step with the distilling teacher's forward pass,
and the two together as the loop runs them (pipelined: the host queues the next batch while
the device computes) and serialised (the host waiting for the device after every step, as a
blocking host-to-device copy makes it).

Each step is what ``nanosizer train`` does (augmented views cut from an in-memory pool,
forward, loss, backward, AdamW; bf16 autocast on a GPU); the pool holds random scenes, since
scene generation runs beside training in other processes. ``--plan-seconds`` also prints
``steps=N``: how many steps of the first batch size fit in that time (a GPU run is sized
with it before it starts).
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import numpy as np
import torch

from nanosizer.train.data import Pool, augmented_batch, device_pool
from nanosizer.train.loop import Recipe, compiled_logits, train_step
from nanosizer.train.model import DeepLabV3Plus


def random_pool(rng: np.random.Generator, device: str) -> Pool:
    """16 random scenes of 512² where the batches are cut (scene generation runs beside
    training in other processes, so its cost is not the step's)."""
    pool = Pool(rng.integers(0, 256, (16, 512, 512), dtype=np.uint8), rng.random((16, 512, 512)) < 0.3)
    return pool if device == "cpu" else device_pool(pool, device)


def steps_per_second(device: str, batch: int, steps: int, tile: int = 256) -> float:
    """Mean rate over ``steps`` steps after a few warm-up steps (kernel selection)."""
    recipe = Recipe(device=device, batch=batch, tile=tile)
    rng = np.random.default_rng(0)
    pool = random_pool(rng, device)
    model = DeepLabV3Plus(recipe.decoder_channels).to(device, memory_format=torch.channels_last).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def run(n: int) -> None:
        for _ in range(n):
            x, y = augmented_batch(pool, rng, batch, tile)
            loss = train_step(model, opt, x, y, recipe, 1e-3)
        float(loss)  # waits for the device

    run(3)
    t0 = time.perf_counter()
    run(steps)
    return steps / (time.perf_counter() - t0)


def breakdown(
    device: str, batch: int, steps: int, tile: int = 256, compiled: bool = False
) -> dict[str, float]:
    """Milliseconds per step of each part (see the module docstring), each after a warm-up;
    ``compiled`` adds the optimiser step of the network under ``torch.compile`` (fused
    elementwise work: what is left when kernel launches and memory traffic are cut)."""
    recipe = Recipe(device=device, batch=batch, tile=tile, distill=1.0)
    rng = np.random.default_rng(0)
    pool = random_pool(rng, device)
    model = DeepLabV3Plus(recipe.decoder_channels).to(device, memory_format=torch.channels_last).train()
    teacher = DeepLabV3Plus(recipe.decoder_channels).to(device, memory_format=torch.channels_last).eval()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    fixed = augmented_batch(pool, rng, batch, tile)

    def sync() -> None:
        if device != "cpu":
            torch.cuda.synchronize()

    parts = {
        "augmented batch": lambda: augmented_batch(pool, rng, batch, tile),
        "optimiser step (fixed batch)": lambda: train_step(model, opt, *fixed, recipe, 1e-3),
        "step + teacher (distill)": lambda: train_step(model, opt, *fixed, recipe, 1e-3, teacher),
        "batch + step, pipelined": lambda: train_step(
            model, opt, *augmented_batch(pool, rng, batch, tile), recipe, 1e-3
        ),
        "batch + step, serialised": lambda: (
            train_step(model, opt, *augmented_batch(pool, rng, batch, tile), recipe, 1e-3),
            sync(),
        ),
    }
    if compiled:
        modes = ("default", "reduce-overhead") if device != "cpu" else ("default",)
        for mode in modes:  # reduce-overhead: CUDA graphs replay the launches
            parts[f"step, torch.compile {mode}"] = partial(
                train_step, compiled_logits(model, mode), opt, *fixed, recipe, 1e-3
            )
    times = {}
    for name, part in parts.items():
        try:
            for _ in range(3):
                part()
        except Exception as exc:  # a compiler that fails here is a result too
            print(f"{name}: failed ({type(exc).__name__}: {str(exc)[:200]})")
            times[name] = float("nan")
            continue
        sync()
        t0 = time.perf_counter()
        for _ in range(steps):
            part()
        sync()
        times[name] = 1000 * (time.perf_counter() - t0) / steps
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, nargs="+", default=[8])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads of torch")
    parser.add_argument("--plan-seconds", type=float, help="print steps=N that fit in this time")
    parser.add_argument("--breakdown", action="store_true", help="where a step's time goes")
    parser.add_argument("--compile", action="store_true", help="with --breakdown: also torch.compile")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = True
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else f"CPU, {args.threads} threads"
    if args.breakdown:
        print(f"where a training step's time goes, batch {args.batch[0]} of 256², {name}")
        print(f"{'part':<30} {'ms/step':>8}")
        for part, ms in breakdown(args.device, args.batch[0], args.steps, compiled=args.compile).items():
            print(f"{part:<30} {ms:>8.2f}")
        return
    print(f"training step, DeepLabv3+ R18, 256² tiles, {name}")
    print(f"{'batch':>6} {'steps/s':>9} {'tiles/s':>9} {'s/step':>8}")
    rates = []
    for batch in args.batch:
        rate = steps_per_second(args.device, batch, args.steps)
        rates.append(rate)
        print(f"{batch:>6} {rate:>9.2f} {rate * batch:>9.1f} {1 / rate:>8.3f}")
    if args.plan_seconds:
        print(f"steps={int(rates[0] * args.plan_seconds)}")


if __name__ == "__main__":
    main()
