"""The ``nanosizer`` command: a thin typer front over :mod:`nanosizer.batch` and friends.

Each command imports its work inside the call so that ``nanosizer --help`` answers at once.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="nanosizer",
    help="Particle size and shape distributions from TEM micrographs (ANTEMA in Python).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Output = Annotated[Path, typer.Option("--output", "-o", help="Output folder.")]
PixelSize = Annotated[
    float | None,
    typer.Option("--pixel-size", help="Pixel size in nm; always wins over the file's calibration."),
]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace results in a non-empty output folder.")]
Separation = Annotated[
    str, typer.Option("--separation", help="Split overlapping particles: uecs, watershed or none.")
]
Segmenter = Annotated[str, typer.Option("--segmenter", help="Segmenter: threshold.")]
Particles = Annotated[
    str, typer.Option("--particles", help="Particle contrast: dark (bright-field TEM) or bright (HAADF).")
]
Formats = Annotated[str, typer.Option("--format", help="Table formats, comma-separated: csv,xlsx.")]


def _settings(**kwargs):
    from .settings import make_settings

    try:
        return make_settings(**kwargs)
    except (TypeError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None


def _tables(formats: str) -> tuple[str, ...]:
    chosen = tuple(f.strip().lower() for f in formats.split(",") if f.strip())
    bad = [f for f in chosen if f not in ("csv", "xlsx")]
    if bad or not chosen:
        raise typer.BadParameter(f"--format takes csv and/or xlsx, got {formats!r}")
    return chosen


def _run(inputs, output, settings, pixel_size, mask, tables, overwrite) -> int:
    from tqdm import tqdm

    from .batch import run_batch
    from .errors import NanosizerError

    def progress(files):
        return tqdm(files, desc="images", unit="image", disable=not sys.stderr.isatty())

    def on_failure(path, reason):
        typer.echo(f"FAILED {path}: {reason}", err=True)

    try:
        report = run_batch(
            inputs, output, settings, pixel_size, mask, tables, overwrite, progress, on_failure
        )
    except (NanosizerError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    typer.echo(f"{len(report.images)} image(s), {report.particles} particle(s) -> {report.out_dir}")
    if report.failures:
        typer.echo(f"{len(report.failures)} file(s) failed; see {report.out_dir / 'failures.csv'}", err=True)
        return 1
    return 0


@app.command()
def analyze(
    paths: Annotated[list[str], typer.Argument(help="Image files, folders or glob patterns.")],
    output: Output = Path("results"),
    pixel_size: PixelSize = None,
    mask: Annotated[
        Path | None, typer.Option("--mask", help="Binary mask to measure instead of segmenting.")
    ] = None,
    separation: Separation = "uecs",
    segmenter: Segmenter = "threshold",
    particles: Particles = "dark",
    formats: Formats = "csv,xlsx",
    overwrite: Overwrite = False,
) -> None:
    """Segment, separate and measure the particles of every image."""
    settings = _settings(separation=separation, segmenter=segmenter, particles=particles)
    raise typer.Exit(_run(paths, output, settings, pixel_size, mask, _tables(formats), overwrite))


@app.command()
def demo(
    output: Output = Path("nanosizer-demo"),
    overwrite: Overwrite = False,
) -> None:
    """Analyse the example micrographs bundled with nanosizer."""
    from .data import example_images

    settings = _settings()
    raise typer.Exit(
        _run([str(p) for p in example_images()], output, settings, None, None, ("csv", "xlsx"), overwrite)
    )


@app.command()
def synth(
    output: Annotated[
        Path | None, typer.Argument(help="Folder for the images (truth in OUTPUT/truth).")
    ] = None,
    n: Annotated[int, typer.Option("--n", help="Number of images.", min=1)] = 20,
    preset: Annotated[str, typer.Option("--preset", help="Scene preset (see --list).")] = "overlap-low",
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same images.")] = 1,
    size: Annotated[
        int | None, typer.Option("--size", help="Image side in px (preset default if unset).")
    ] = None,
    list_presets: Annotated[bool, typer.Option("--list", help="List the presets and exit.")] = False,
) -> None:
    """Generate synthetic micrographs with exact ground truth."""
    import numpy as np

    from .synth import PRESETS, generate, preset_params, write_synth

    if list_presets:
        for name, make in PRESETS.items():
            typer.echo(f"{name:16s} {(make.__doc__ or '').strip().splitlines()[0]}")
        raise typer.Exit(0)
    if output is None:
        raise typer.BadParameter("give an OUTPUT folder")
    if preset not in PRESETS:
        raise typer.BadParameter(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    rng = np.random.default_rng(seed)
    for k in range(n):
        sample = generate(preset_params(preset, rng, size), rng)
        write_synth(sample, output, f"{preset}_{seed}_{k:04d}")
    typer.echo(f"{n} image(s) of preset {preset} -> {output}")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
