"""The training commands of ``nanosizer`` (``train``, ``quantize``; extra ``train``).

Registered on the one typer app by :mod:`nanosizer.cli`; torch and onnx are imported inside
the calls, so ``nanosizer --help`` stays instant without the extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def train(
    output: Annotated[Path, typer.Argument(help="Run folder: checkpoints, log.jsonl, scene cache.")],
    steps: Annotated[int, typer.Option("--steps", help="Optimiser steps.", min=1)] = 3000,
    batch: Annotated[int, typer.Option("--batch", help="Tiles per step.", min=1)] = 8,
    lr: Annotated[float, typer.Option("--lr", help="Peak learning rate (AdamW).")] = 1e-3,
    pool_size: Annotated[
        int, typer.Option("--pool", help="Synthetic scenes generated for the run (0: only --data).", min=0)
    ] = 1600,
    val_every: Annotated[int, typer.Option("--val-every", help="Validate every N steps.")] = 250,
    seed: Annotated[int, typer.Option("--seed", help="Seed of scenes, batches and weights.")] = 0,
    data: Annotated[
        Path | None, typer.Option("--data", help="Own labelled data: DIR/images/* with DIR/masks/*.")
    ] = None,
    export: Annotated[
        Path | None, typer.Option("--export", help="Write the best checkpoint as ONNX here at the end.")
    ] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Ignore an existing last.pt (no resume).")] = False,
    preset: Annotated[str, typer.Option("--preset", help="Synthetic scene preset to train on.")] = "training",
    val_preset: Annotated[
        str, typer.Option("--val-preset", help="Synthetic scene preset of the 48 validation scenes.")
    ] = "training",
    init: Annotated[
        str | None,
        typer.Option(
            "--init",
            help="Start from these weights (a later stage): a checkpoint .pt, an exported .onnx, "
            "or 'shipped' (the packaged model: fine-tune it on your own --data).",
        ),
    ] = None,
    init_mode: Annotated[
        str | None,
        typer.Option(
            "--init-mode",
            help="With an .onnx --init: start from its decoder for this imaging mode "
            "(dark_field, phase_contrast) instead of the native one.",
        ),
    ] = None,
    stop_after: Annotated[
        int | None, typer.Option("--stop-after", help="End at this step, keeping the --steps schedule.")
    ] = None,
    device: Annotated[
        str, typer.Option("--device", help="cpu, or cuda: pool, batches and steps on a GPU (bf16).")
    ] = "cpu",
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Scene processes (default: the cores; one fewer on a GPU).", min=1),
    ] = None,
    max_minutes: Annotated[
        float | None, typer.Option("--max-minutes", help="Validate, save and stop past this wall time.")
    ] = None,
    distill: Annotated[
        float,
        typer.Option(
            "--distill",
            help="Keep what the --init model knows: on tiles it already gets right (IoU >= 0.8 with "
            "the truth) also match its output, with this weight (0: off).",
            min=0.0,
        ),
    ] = 0.0,
    freeze_encoder: Annotated[
        bool,
        typer.Option(
            "--freeze-encoder",
            help="Train ASPP, decoder and head only; the encoder keeps the --init weights.",
        ),
    ] = False,
    polarity_input: Annotated[
        bool,
        typer.Option(
            "--polarity-input",
            help="A second input channel says dark field (1) or bright field (0); from a one-channel "
            "--init model its weights start at zero (the same network until trained). An .onnx --init "
            "that has it keeps it without this flag.",
        ),
    ] = False,
    cuda_graphs: Annotated[
        bool,
        typer.Option(
            "--cuda-graphs",
            help="GPU: replay the training step's network as CUDA graphs (torch.compile; its "
            "kernels are small, so launching them is most of a step).",
        ),
    ] = False,
) -> None:
    """Train the segmentation network (train extra).

    On synthetic micrographs generated during the run, and on own labelled ones (--data).
    """
    try:
        import onnx  # noqa: F401
        import torch

        from .train.loop import Recipe
        from .train.loop import train as run_training
    except ImportError as exc:  # the train extra is missing
        _missing_train_extra("training", exc)
    if device != "cpu" and not (device.startswith("cuda") and torch.cuda.is_available()):
        typer.echo(f"error: --device {device}: no such device here (cpu, or cuda with a GPU)", err=True)
        raise typer.Exit(2)
    recipe = Recipe(
        steps=steps,
        batch=batch,
        lr=lr,
        pool_size=pool_size,
        val_every=val_every,
        seed=seed,
        preset=preset,
        val_preset=val_preset,
        init=_initial_weights(init),
        init_mode=init_mode,
        device=device,
        distill=distill,
        freeze_encoder=freeze_encoder,
        in_channels=2 if polarity_input else 1,
        cuda_graphs=cuda_graphs,
    )
    try:
        best = run_training(
            output,
            recipe,
            data=data,
            resume=not fresh,
            stop_after=stop_after,
            workers=workers,
            max_minutes=max_minutes,
        )
    except (ValueError, FileNotFoundError) as exc:  # a bad --init file or --data folder, named
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"best validation IoU {best:.4f}; checkpoints in {output}")
    if export is not None:
        from .train.export import export_onnx

        export_onnx(output / "best.pt", export)
        typer.echo(f"model -> {export}")


def _initial_weights(init: str | None) -> str | None:
    """The file ``--init`` names ('shipped': the packaged model); exits 2 when it does not exist."""
    if init is None:
        return None
    if init == "shipped":
        from .segment.network import default_model_path

        return str(default_model_path())
    if not Path(init).is_file():
        typer.echo(f"error: --init {init}: no such checkpoint or model file", err=True)
        raise typer.Exit(2)
    return init


def _missing_train_extra(what: str, exc: ImportError) -> None:
    typer.echo(f"error: {what} needs the train extra (pip install 'nanosizer[train]'): {exc}", err=True)
    raise typer.Exit(2) from None


def quantize(
    model: Annotated[Path, typer.Argument(help="Float32 ONNX model (from train --export).")],
    output: Annotated[Path, typer.Argument(help="Int8 ONNX model to write.")],
    calibration: Annotated[
        int, typer.Option("--calibration", help="Generated calibration scenes.", min=1)
    ] = 24,
) -> None:
    """Quantise a float model to int8, the same on every CPU.

    Needs the train extra.

    7-bit weights (onnxruntime's reduce_range), uint8 activations, the first and last
    convolutions in float; calibrated on generated scenes. About 1.6x faster than float on
    2 cores. A model quantised with full 8-bit weights (earlier versions) still works with
    --model, computed in float; re-quantise its float model with this command.
    """
    try:
        import onnx  # noqa: F401

        from .train.quantize import quantize_onnx
    except ImportError as exc:  # the train extra is missing
        _missing_train_extra("quantising", exc)
    if not model.is_file():
        typer.echo(f"error: {model}: no such model file", err=True)
        raise typer.Exit(2)
    try:
        quantize_onnx(model, output, n_calibration=calibration)
    except Exception as exc:  # onnx and onnxruntime raise their own untyped errors on bad files
        why = f"not a float ONNX model that can be quantised ({type(exc).__name__})"
        typer.echo(f"error: {model}: {why}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"int8 model -> {output}")
