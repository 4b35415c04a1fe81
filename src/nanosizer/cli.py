"""The ``nanosizer`` command: a thin typer front over :mod:`nanosizer.batch` and friends.

Each command imports its work inside the call so that ``nanosizer --help`` answers at once.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from .cli_train import quantize, train

app = typer.Typer(
    name="nanosizer",
    help="Particle size and shape distributions from TEM micrographs (ANTEMA in Python).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: wraps at any width, never cuts an option name
)


def _version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"nanosizer {__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Particle size and shape distributions from TEM micrographs (ANTEMA in Python)."""


DEFAULT_SEPARATION = "auto"  # as Settings (checked by the tests)
Output = Annotated[Path, typer.Option("--output", "-o", help="Output folder.")]
PixelSize = Annotated[
    float | None,
    typer.Option("--pixel-size", help="Pixel size in nm; always wins over the file's calibration."),
]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace results in a non-empty output folder.")]
Separation = Annotated[
    str,
    typer.Option(
        "--separation",
        help="Separate touching and overlapping particles: learned (whole outlines from the network), "
        "uecs (the paper's), watershed, none, or auto (learned with the shipped model, else uecs).",
    ),
]
Segmenter = Annotated[
    str,
    typer.Option("--segmenter", help="Segmenter: network (trained DeepLabv3+) or threshold (blur + Otsu)."),
]
Model = Annotated[Path | None, typer.Option("--model", help="Own ONNX model instead of the shipped one.")]
Roi = Annotated[
    str | None,
    typer.Option("--roi", help="Analyse only rows TOP:BOTTOM, columns LEFT:RIGHT, as TOP,LEFT,BOTTOM,RIGHT."),
]
Zoom = Annotated[
    str, typer.Option("--network-zoom", help="Resample by this factor before the network, or 'auto'.")
]
Particles = Annotated[
    str,
    typer.Option(
        "--particles",
        help="Particle contrast: dark (bright-field TEM), bright (HAADF) or auto (the metadata's detector).",
    ),
]
Formats = Annotated[str, typer.Option("--format", help="Table formats, comma-separated: csv,xlsx.")]
Assignments = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="NAME=VALUE",
        help="Any analysis setting, repeatable (e.g. --set min_marker_px=12); wins over the options "
        "above. 'nanosizer settings' lists them with their defaults.",
    ),
]


def _settings(assignments: list[str] | None = None, **kwargs):
    """Settings from the command's options, then its ``NAME=VALUE`` texts (later ones win)."""
    from .settings import make_settings, parse_assignments

    try:
        return make_settings(**(kwargs | parse_assignments(assignments or [])))
    except (TypeError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None


def _check_pixel_size(settings, pixel_size: float | None) -> None:
    """An implausible --pixel-size is a usage error for the whole run, not a per-file failure."""
    problem = None if pixel_size is None else settings.check_pixel_size(pixel_size)
    if problem:
        raise typer.BadParameter(problem, param_hint="--pixel-size")


def _segmenter_options(model: Path | None, roi: str | None, network_zoom: str) -> list[str]:
    """The --model, --roi and --network-zoom texts as NAME=VALUE settings (read as --set reads them;
    shared by analyze and evaluate)."""
    texts = [f"network_zoom={network_zoom}"]
    if model is not None:
        texts.append(f"model={model}")
    if roi is not None:
        texts.append(f"roi={roi}")
    return texts


def _writable(folder: Path) -> Path:
    """The folder, created and checked for writing; otherwise one line and exit 2."""
    from .errors import OutputError
    from .files import ensure_writable

    try:
        return ensure_writable(folder)
    except OutputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _tables(formats: str) -> tuple[str, ...]:
    chosen = tuple(f.strip().lower() for f in formats.split(",") if f.strip())
    bad = [f for f in chosen if f not in ("csv", "xlsx")]
    if bad or not chosen:
        raise typer.BadParameter(f"--format takes csv and/or xlsx, got {formats!r}")
    return chosen


def _run(inputs, output, settings, **batch_options) -> int:
    """Run a batch with the console's progress bar and messages; the exit code."""
    from tqdm import tqdm

    from .batch import BatchInterrupted, run_batch
    from .errors import NanosizerError

    on_terminal = sys.stderr.isatty()

    def progress(total):
        return tqdm(total=total, desc="files", unit="file", disable=not on_terminal)

    def on_failure(path, reason):
        tqdm.write(f"FAILED {path}: {reason}", file=sys.stderr)

    def on_message(text, warning):
        # a line per image without a terminal (logs, pipes, notebooks); beside a bar, warnings only
        if warning or not on_terminal:
            tqdm.write(text, file=sys.stderr if warning else sys.stdout)

    try:
        report = run_batch(
            inputs,
            output,
            settings,
            progress=progress,
            on_failure=on_failure,
            on_message=on_message,
            command=shlex.join(["nanosizer", *sys.argv[1:]]),
            **batch_options,
        )
    except BatchInterrupted as stop:
        typer.echo(f"{stop} (finished ones are in {stop.out_dir})", err=True)
        return 130
    except (NanosizerError, ValueError, RuntimeError) as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    if not report.images:
        typer.echo(f"{len(report.failures)} file(s) failed (above) and none was analysed", err=True)
        return 1
    resumed = f" ({report.resumed} file(s) reused)" if report.resumed else ""
    typer.echo(f"{len(report.images)} image(s), {report.particles} particle(s){resumed} -> {report.out_dir}")
    if report.failures:
        typer.echo(f"{len(report.failures)} file(s) failed; see {report.out_dir / 'failures.csv'}", err=True)
        return 1
    return 0


@app.command()
def analyze(
    paths: Annotated[
        list[str],
        typer.Argument(help="Image files, folders or glob patterns.", metavar="PATH"),
    ],
    output: Output = Path("results"),
    pixel_size: PixelSize = None,
    mask: Annotated[
        Path | None, typer.Option("--mask", help="Binary mask to measure instead of segmenting.")
    ] = None,
    separation: Separation = DEFAULT_SEPARATION,
    segmenter: Segmenter = "network",
    model: Model = None,
    roi: Roi = None,
    network_zoom: Zoom = "1.0",
    edge_refinement: Annotated[
        bool,
        typer.Option(
            "--edge-refinement/--no-edge-refinement",
            help="On high-contrast images take edges from the threshold where the network agrees.",
        ),
    ] = False,
    particles: Particles = "auto",
    formats: Formats = "csv,xlsx",
    overwrite: Overwrite = False,
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Parallel processes (default: the number of cores).", min=1),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask scheduler address tcp://HOST:PORT (extra: cluster)."),
    ] = None,
    scheduler_timeout: Annotated[
        float,
        typer.Option(
            "--scheduler-timeout", help="Seconds to wait for the Dask scheduler to answer.", min=0.1
        ),
    ] = 10.0,
    dask: Annotated[bool, typer.Option("--dask", help="Run on a local Dask cluster started here.")] = False,
    max_memory: Annotated[
        float | None,
        typer.Option("--max-memory", help="MB the run may use (default: what is available).", min=1),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip files already finished with the same settings and model.")
    ] = False,
    sample: Annotated[
        str | None,
        typer.Option("--sample", help="Sample name of these images (default: output folder name)."),
    ] = None,
    sample_by_folder: Annotated[
        bool, typer.Option("--sample-by-folder", help="Each image's folder name is its sample.")
    ] = False,
    sample_by_file: Annotated[
        bool, typer.Option("--sample-by-file", help="Each file is its own sample (named by the file).")
    ] = False,
    no_report: Annotated[bool, typer.Option("--no-report", help="Skip plots and report.html.")] = False,
    keep_unreliable: Annotated[
        bool,
        typer.Option(
            "--keep-unreliable",
            help="Pool images judged unreliable into the sample statistics too (default: left out).",
        ),
    ] = False,
    assignments: Assignments = None,
) -> None:
    """Segment, separate and measure the particles of every image."""
    if (sample is not None) + sample_by_folder + sample_by_file > 1:
        raise typer.BadParameter(
            "give one of --sample NAME, --sample-by-folder and --sample-by-file, not both",
            param_hint="--sample",
        )
    settings = _settings(
        [*_segmenter_options(model, roi, network_zoom), *(assignments or [])],
        separation=separation,
        segmenter=segmenter,
        particles=particles,
        edge_refinement=edge_refinement,
    )
    _check_pixel_size(settings, pixel_size)
    raise typer.Exit(
        _run(
            paths,
            output,
            settings,
            pixel_size_nm=pixel_size,
            mask=mask,
            tables=_tables(formats),
            overwrite=overwrite,
            workers=workers or os.cpu_count() or 1,
            scheduler=scheduler or ("local" if dask else None),
            scheduler_timeout_s=scheduler_timeout,
            max_memory_mb=max_memory,
            resume=resume,
            sample=sample,
            sample_by_folder=sample_by_folder,
            sample_by_file=sample_by_file,
            report=not no_report,
            keep_unreliable=keep_unreliable,
        )
    )


@app.command("settings")
def list_settings() -> None:
    """List every analysis setting and its default.

    Change any with --set NAME=VALUE.
    """
    import re
    import textwrap

    from .settings import describe_settings

    for name, default, description in describe_settings():
        plain = re.sub(r":\w+:`~?([^`]+)`", r"\1", description).replace("``", "'")
        typer.echo(
            f"{name} = {default}\n"
            + textwrap.fill(plain, 78, initial_indent="    ", subsequent_indent="    ")
        )


@app.command()
def evaluate(
    images: Annotated[str, typer.Argument(help="Image file, folder or glob.")],
    masks: Annotated[
        str, typer.Argument(help="Reference masks (file, folder or glob), matched by file stem.")
    ],
    output: Output = Path("evaluation"),
    pixel_size: PixelSize = None,
    segmenter: Segmenter = "network",
    model: Model = None,
    roi: Roi = None,
    network_zoom: Zoom = "1.0",
    particles: Particles = "auto",
    assignments: Assignments = None,
) -> None:
    """Score segmentation against reference masks.

    Accuracy, IoU, Dice and the confusion matrix, per image and pooled.
    """
    from .batch import expand_inputs
    from .evaluation import evaluate_pairs, write_evaluation
    from .io.masks import match_masks

    settings = _settings(
        [*_segmenter_options(model, roi, network_zoom), *(assignments or [])],
        segmenter=segmenter,
        particles=particles,
    )
    _check_pixel_size(settings, pixel_size)
    image_files, bad = expand_inputs([images])
    mask_files, bad_masks = expand_inputs([masks])
    try:
        pairs = match_masks(image_files, mask_files)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    _writable(output)
    rows, total, failures = evaluate_pairs(pairs, settings, pixel_size)
    failures = bad + bad_masks + failures
    for path, reason in failures:
        typer.echo(f"FAILED {path}: {reason}", err=True)
    if not rows:
        write_evaluation(output, rows, None, failures)
        typer.echo(
            f"no image could be evaluated ({len(failures)} failed; see {output / 'failures.csv'})", err=True
        )
        raise typer.Exit(1)
    write_evaluation(output, rows, total, failures, f"{segmenter} on {len(rows)} image(s)")
    m = total.metrics()
    typer.echo(
        f"{len(rows)} image(s): particle IoU {m['iou_particle']:.4f}  Dice {m['dice_particle']:.4f}  "
        f"background IoU {m['iou_background']:.4f}  global accuracy {m['global_accuracy']:.4f} -> {output}"
    )
    raise typer.Exit(1 if failures else 0)


@app.command()
def compare(
    results: Annotated[
        Path, typer.Argument(help="A results folder (its particles.csv) or a particle table.")
    ],
    manual: Annotated[Path, typer.Argument(help="CSV of manually measured diameters, one per row.")],
    measure: Annotated[
        str | None,
        typer.Option(
            "--measure",
            help="nanosizer's column compared (default: the one the manual column names: "
            "Feret min/max, else the ECD).",
        ),
    ] = None,
    column: Annotated[
        str | None,
        typer.Option(
            "--column", help="Manual list's column: header name or number (default: the diameter one)."
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Folder for comparison.csv/png (default: RESULTS).")
    ] = None,
) -> None:
    """Compare automated sizes with a manual size list.

    Means, the difference with its 95 % interval, a KS test and a histogram.
    """
    from .errors import NanosizerError
    from .report.compare import (
        MEASURE_NAMES,
        compare_sizes,
        measure_of_column,
        read_automated_sizes,
        read_manual_sizes,
        write_comparison,
    )

    folder = _writable(output or (results if results.is_dir() else results.parent))
    try:
        manual_sizes, used, name = read_manual_sizes(manual, column)
        measure = measure or measure_of_column(name) or "equivalent_diameter_nm"
        automated = read_automated_sizes(results, measure)
    except NanosizerError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    what = MEASURE_NAMES.get(measure, measure)
    typer.echo(f"manual sizes: {manual.name}, {used}; compared with nanosizer's {what} ({measure})")
    stats = compare_sizes(automated, manual_sizes)
    write_comparison(
        folder, automated, manual_sizes, stats, f"{what} (nm): nanosizer's {measure} vs manual {name!r}"
    )
    typer.echo(
        f"nanosizer {what} {stats['automated_mean_nm']:.3g} ± {stats['automated_std_nm']:.2g} nm "
        f"(n={stats['automated_count']}); "
        f"manual {name!r} {stats['manual_mean_nm']:.3g} ± {stats['manual_std_nm']:.2g} nm "
        f"(n={stats['manual_count']}); difference {stats['difference_nm']:+.3g} nm "
        f"[95% CI {stats['difference_ci_low_nm']:+.3g}, {stats['difference_ci_high_nm']:+.3g}]; "
        f"KS D={stats['ks_statistic']:.3f}, p={stats['ks_pvalue']:.3g} -> {folder / 'comparison.csv'}"
    )


@app.command()
def demo(
    output: Output = Path("nanosizer-demo"),
    overwrite: Overwrite = False,
) -> None:
    """Analyse the bundled example micrographs, each its own sample."""
    from .data import example_images

    settings = _settings()
    if output.is_dir() and any(output.iterdir()) and not overwrite:
        typer.echo(f"error: {output}: output folder is not empty; use --overwrite to replace it", err=True)
        raise typer.Exit(2)
    paths = [str(p) for p in example_images()]
    raise typer.Exit(_run(paths, output, settings, overwrite=overwrite, sample_by_file=True))


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
        import textwrap

        for name, make in PRESETS.items():
            summary = " ".join((make.__doc__ or "").strip().split("\n\n")[0].split())
            typer.echo(textwrap.fill(summary, 78, initial_indent=f"{name:19s}", subsequent_indent=" " * 19))
        raise typer.Exit(0)
    if output is None:
        raise typer.BadParameter("give an OUTPUT folder")
    if preset not in PRESETS:
        raise typer.BadParameter(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    _writable(output)
    rng = np.random.default_rng(seed)
    for k in range(n):
        sample = generate(preset_params(preset, rng, size), rng)
        write_synth(sample, output, f"{preset}_{seed}_{k:04d}")
    typer.echo(f"{n} image(s) of preset {preset} -> {output}")


# Training commands live beside this module (train extra); registered here, one CLI.
app.command()(train)
app.command()(quantize)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
