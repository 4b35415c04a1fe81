"""The trained segmenter: DeepLabv3+ (ResNet-18) run by onnxruntime, tile by tile.

The network was trained on micrographs normalised as a whole (robust percentiles) with dark
particles; inference does exactly the same, cuts the image into overlapping tiles, blends the
tile probabilities with weights that fall off towards tile edges, and thresholds at 0.5.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import NanosizerError
from ..regions import Region, area_weighted_median
from .preprocess import normalise
from .shapes import ShapeField

MODEL_NAME = "deeplabv3plus_r18.onnx"
_process_threads: int | None = None  # this process's inference threads (None: all cores)


def set_inference_threads(threads: int | None) -> None:
    """Inference threads for the models this process opens from now on (a batch worker: 1).

    Models opened before with another count are closed, so no session outlives the choice.
    """
    global _process_threads
    _process_threads = threads
    _open_model.cache_clear()


ALIGN = 16  # the network's output stride: input sides must be multiples of it
TILE, OVERLAP = 1088, 64  # largest tile side and overlap, px: 2048² runs as 2×2 tiles, 4096² as 4×4
TARGET_PARTICLE_PX = 40.0  # typical particle diameter the automatic zoom aims at
THRESHOLD = 0.5  # particle where the network's probability is above this

log = logging.getLogger("nanosizer")


def default_model_path() -> Path:
    """The model shipped inside the package."""
    return Path(str(resources.files("nanosizer") / "data" / "model" / MODEL_NAME))


@dataclass(frozen=True)
class NetworkModel:
    """A loaded ONNX segmentation model and what it says about itself."""

    path: Path
    session: object
    sha256: str
    info: dict
    reference: bool = False  # graph run unfused: the QDQ model computed in float, as it is defined
    threads: int | None = None  # intra-op threads of the session (None: one per core)

    @property
    def input_name(self) -> str:
        return self.session.get_inputs()[0].name

    @property
    def channels(self) -> int:
        """1: the image alone; 2: the image and a polarity plane (1 for dark-field images)."""
        size = self.session.get_inputs()[0].shape[1]
        return size if isinstance(size, int) else 1

    @functools.cached_property
    def releasing(self):
        """Run options for the last run of an image: onnxruntime hands the memory its arena
        grew for the activations back to the system when the run ends, instead of holding
        it while the separation and measurement allocate theirs (4096²: peak 1,019 → 860 MB)."""
        import onnxruntime as ort

        options = ort.RunOptions()
        options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        return options

    @functools.cached_property
    def switches(self) -> frozenset[str]:
        """The model's switch inputs (:data:`FINE_SWITCH`, :data:`DARK_SWITCH`,
        :data:`PHASE_SWITCH`): inputs with a default, asked once per model, not at every batch
        of tiles."""
        return frozenset(i.name for i in self.session.get_overridable_initializers())

    @property
    def fine_head(self) -> bool:
        """Whether the model has a second shape head for the fine pass (:data:`FINE_SWITCH`)."""
        return FINE_SWITCH in self.switches

    @property
    def dark_decoder(self) -> bool:
        """Whether the model has a decoder of its own for dark-field images (:data:`DARK_SWITCH`)."""
        return DARK_SWITCH in self.switches

    @property
    def phase_decoder(self) -> bool:
        """Whether the model has a decoder of its own for phase-contrast images (:data:`PHASE_SWITCH`)."""
        return PHASE_SWITCH in self.switches

    def feed(self, stack: np.ndarray, mode: str | None = None, fine: bool = False) -> dict[str, np.ndarray]:
        """The session's input for images (N, 1, H, W): with the polarity plane if it takes one;
        ``mode`` (:data:`DARK_SWITCH`, :data:`PHASE_SWITCH` or None) selects the model's
        decoder for that imaging mode when it has one, ``fine`` its fine head (outlines for the
        fine pass instead of the native ones)."""
        if self.channels > 1:
            stack = np.concatenate([stack, np.full_like(stack, float(mode == DARK_SWITCH))], axis=1)
        inputs = {self.input_name: stack}
        if fine and self.fine_head:
            inputs[FINE_SWITCH] = np.array(True)
        if mode is not None and mode in self.switches:
            inputs[mode] = np.array(True)
        return inputs


def model_file(path: str | Path | None = None) -> Path:
    """The model file to open (``None``: the shipped one), or a clear error when it is missing."""
    path = Path(path) if path is not None else default_model_path()
    if not path.is_file():
        raise NanosizerError(
            "model file not found (give another one: --model / model=; or use the threshold segmenter)", path
        )
    return path


def cpu_dependent_int8(info: dict) -> bool:
    """Whether a model was quantised with full 8-bit weights (before ``reduce_range``).

    onnxruntime fuses such QDQ convolutions into integer kernels that, on x86 CPUs without
    VNNI, saturate 16-bit pairwise sums: the result would depend on the processor.
    """
    quantized = info.get("quantized")
    return bool(quantized) and not quantized.get("reduce_range", False)


def load_model(
    path: str | Path | None = None, reference: bool = False, threads: int | None = -1
) -> NetworkModel:
    """Open an ONNX model once per process (``None``: the shipped model) with ``threads``
    intra-op threads (default: this process's, see :func:`set_inference_threads`; None: one
    per core).

    ``reference=True`` disables onnxruntime's graph optimisations, so a quantised (QDQ) model
    is computed in float exactly as its graph defines it, on any CPU: the yardstick for the
    fused integer kernels. Models quantised with full 8-bit weights always run that way
    (their fused kernels differ between CPUs); ``nanosizer quantize`` makes a portable file.
    """
    return _open_model(
        None if path is None else str(path), reference, _process_threads if threads == -1 else threads
    )


@functools.lru_cache(maxsize=4)
def _open_model(path: str | None, reference: bool, threads: int | None) -> NetworkModel:
    import onnxruntime as ort

    path = model_file(path)
    data = path.read_bytes()

    def session(optimised: bool):
        options = ort.SessionOptions()
        options.log_severity_level = 3
        # onnxruntime's memory pattern pre-plans one block per input shape: measured no faster
        # here, and a 2048² analysis peaked ~0.2 GB higher with it (docs/memory.md)
        options.enable_mem_pattern = False
        if not optimised:
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])

    try:
        run = session(optimised=not reference)
        info = json.loads(run.get_modelmeta().custom_metadata_map.get("nanosizer", "{}"))
        if cpu_dependent_int8(info) and not reference:
            log.warning(
                "%s: int8 model with full 8-bit weights, whose fused kernels differ between CPUs; "
                "computed in float instead (same result everywhere, slower). Re-quantise the float "
                "model with 'nanosizer quantize' for the fast portable form.",
                path,
            )
            reference, run = True, session(optimised=False)
    except Exception as exc:  # onnxruntime raises its own untyped errors on bad files
        raise NanosizerError(f"not a loadable ONNX model ({type(exc).__name__})", path) from None
    return NetworkModel(path, run, hashlib.sha256(data).hexdigest(), info, reference, threads)


def model_identity(path: str | Path | None = None) -> tuple[Path, str, dict]:
    """File, SHA-256 and metadata of a model, without keeping a session open in this process
    (a batch parent asks this before its workers start: no session is carried across a fork).
    Read once per file and process, as :func:`load_model` is."""
    return _identity(str(model_file(path)))


@functools.lru_cache(maxsize=4)
def _identity(path: str) -> tuple[Path, str, dict]:
    import onnxruntime as ort

    path = Path(path)
    data = path.read_bytes()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    try:
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        info = json.loads(session.get_modelmeta().custom_metadata_map.get("nanosizer", "{}"))
    except Exception as exc:  # onnxruntime raises its own untyped errors on bad files
        raise NanosizerError(f"not a loadable ONNX model ({type(exc).__name__})", path) from None
    del session
    return path, hashlib.sha256(data).hexdigest(), info


def tile_layout(length: int, tile: int, overlap: int, step: int = 1) -> tuple[int, list[int]]:
    """Tile size and start offsets covering ``length`` px with tiles of at most ``tile`` px.

    The fewest tiles that keep at least ``overlap`` px between neighbours, shrunk to share the
    length evenly (sizes stay multiples of 16), so little is computed twice. Starts are
    multiples of ``step`` (outputs at a coarser stride need it; ``length`` must be one too).
    """
    if length <= tile:
        return -(-length // ALIGN) * ALIGN, [0]
    count = -(-(length - overlap) // (tile - overlap))
    size = -(-(length + (count - 1) * overlap) // count)
    size = min(tile, -(-size // ALIGN) * ALIGN)
    starts = (np.linspace(0, length - size, count) / step).round().astype(int) * step
    return size, starts.tolist()


def _ramp(n: int, overlap: int) -> np.ndarray:
    ramp = np.minimum(1.0, (np.arange(n) + 0.5) / max(overlap, 1))
    return np.minimum(ramp, ramp[::-1]).astype(np.float32)


def blend_weight(height: int, width: int, overlap: int) -> np.ndarray:
    """Separable ramp: 1 in the middle, falling linearly to ~0 over ``overlap`` px at the edges.

    Tile borders see the least context, so neighbouring tiles take over there; the weights
    are normalised by their sum, so image borders (one tile only) keep the right value.
    """
    return np.outer(_ramp(height, overlap), _ramp(width, overlap))


FINE_SWITCH = "fine_shapes"  # input of a model with a fine head: true selects it (default false)
DARK_SWITCH = "dark_field"  # input of a model with a dark-field decoder: true selects it (default false)
PHASE_SWITCH = "phase_contrast"  # input of a model with a phase-contrast decoder (default false)
MODES = (DARK_SWITCH, PHASE_SWITCH)  # imaging modes with a decoder of their own; None: the native one


def has_shapes(model: NetworkModel) -> bool:
    """Whether a model also predicts particle outlines (object probability and rays)."""
    return [o.name for o in model.session.get_outputs()][1:3] == ["objects", "rays"]


def predict_probability(
    model: NetworkModel,
    image01: np.ndarray,
    tile: int = TILE,
    overlap: int = OVERLAP,
    batch: int = 4,
    mode: str | None = None,
) -> np.ndarray:
    """Particle probability of a normalised image (float in [0, 1], dark particles).

    Images up to a tile run whole (padded to a multiple of 16); larger ones run as
    overlapping tiles (:func:`tile_layout`), ``batch`` at a time, blended by
    :func:`blend_weight`. Tiles bound the memory of any image size.
    """
    return predict_maps(model, image01, tile, overlap, batch, mode=mode)["probability"]


def predict_maps(
    model: NetworkModel,
    image01: np.ndarray,
    tile: int = TILE,
    overlap: int = OVERLAP,
    batch: int = 4,
    shapes: bool = False,
    mode: str | None = None,
    fine: bool = False,
) -> dict[str, np.ndarray]:
    """The network's outputs for a normalised image, tiled and blended as
    :func:`predict_probability` describes: ``probability`` (H, W) and, with ``shapes``,
    ``objects`` (h, w) and ``rays`` (n, h, w) on the stride-4 grid, h = ceil(H / 4).
    ``mode``: the imaging mode whose decoder reads the image (:meth:`NetworkModel.feed`; a
    dark-field image comes inverted, and a model with a polarity plane is told).
    ``fine``: the outlines of the model's fine head when it has one (the fine pass's).
    """
    names = ["probability", "objects", "rays"] if shapes else [model.session.get_outputs()[0].name]
    h, w = image01.shape
    tile = max(4 * ALIGN, tile // ALIGN * ALIGN)
    overlap = min(overlap, tile // 4)
    step = 4 if shapes else 1
    # Coarse outputs need tile starts on their grid: the image is padded to whole 16 px cells.
    fh, fw = (-(-h // ALIGN) * ALIGN, -(-w // ALIGN) * ALIGN) if shapes else (h, w)
    th, rows = tile_layout(fh, tile, overlap, step)
    tw, cols = tile_layout(fw, tile, overlap, step)
    ph, pw = max(fh, th), max(fw, tw)
    padded = np.pad(image01, ((0, ph - h), (0, pw - w)), mode="reflect") if (ph, pw) != (h, w) else image01
    padded = np.ascontiguousarray(padded, dtype=np.float32)
    boxes = [(r, c) for r in rows for c in cols]
    strides = {name: (1 if k == 0 else 4) for k, name in enumerate(names)}
    crop = {name: (slice(None), slice(0, -(-h // s)), slice(0, -(-w // s))) for name, s in strides.items()}
    if len(boxes) == 1:
        outs = model.session.run(names, model.feed(padded[None, None], mode, fine), model.releasing)
        return {name: _squeeze(out[0][crop[name]]) for name, out in zip(names, outs, strict=True)}
    batch = max(1, min(batch, (512 * 512 * 4) // (th * tw)))  # bounds activation memory on big tiles
    acc, norm, weight = {}, {}, {}
    for name, s in strides.items():
        acc[name], norm[name] = None, np.zeros((ph // s, pw // s), np.float32)
        weight[name] = blend_weight(th // s, tw // s, overlap // s)
    for k in range(0, len(boxes), batch):
        chunk = boxes[k : k + batch]
        stack = np.stack([padded[r : r + th, c : c + tw] for r, c in chunk])[:, None]
        last = k + batch >= len(boxes)
        outs = model.session.run(names, model.feed(stack, mode, fine), model.releasing if last else None)
        for name, out in zip(names, outs, strict=True):
            s = strides[name]
            if acc[name] is None:
                acc[name] = np.zeros((out.shape[1], ph // s, pw // s), np.float32)
            for (r, c), tile_out in zip(chunk, out, strict=True):
                window = (slice(r // s, (r + th) // s), slice(c // s, (c + tw) // s))
                acc[name][(slice(None), *window)] += tile_out * weight[name]
                norm[name][window] += weight[name]
    for name in names:
        np.divide(acc[name], norm[name], out=acc[name])  # in place: the rays are 32 maps
    return {name: _squeeze(acc[name][crop[name]]) for name in names}


def _squeeze(out: np.ndarray) -> np.ndarray:
    """One-channel outputs as 2-D arrays, the rays as (n, h, w)."""
    return out[0] if out.shape[0] == 1 else out


def network_input(image: np.ndarray, particles: str = "dark") -> np.ndarray:
    """The image as the network expects it: normalised to [0, 1] as a whole, dark particles."""
    data = normalise(image)
    return 1.0 - data if particles == "bright" else data


def rescale(image: np.ndarray, zoom: float) -> np.ndarray:
    """Bilinear (anti-aliased when shrinking) resampling by ``zoom``."""
    from skimage.transform import rescale as sk_rescale

    return sk_rescale(image, zoom, order=1, anti_aliasing=zoom < 1, preserve_range=True).astype(np.float32)


def typical_particle_px(data01: np.ndarray) -> float | None:
    """Median particle diameter in px from a quick Otsu map (None without a plausible answer).

    Twice the largest inscribed radius of each region: agglomerates of touching particles
    give the width of one particle, not of the cluster.
    """
    from scipy import ndimage as ndi
    from skimage.filters import threshold_otsu

    step = max(1, min(data01.shape) // 256)
    small = ndi.gaussian_filter(data01[::step, ::step].astype(np.float32), 1.0)
    if np.ptp(small) <= 0:
        return None
    labels, count = ndi.label(small < threshold_otsu(small))
    if count < 3:
        return None
    areas = np.bincount(labels.ravel())[1:]
    keep = np.flatnonzero(areas >= 4) + 1  # ignore noise specks
    if keep.size < 3:
        return None
    inscribed = ndi.maximum(ndi.distance_transform_edt(labels > 0), labels, keep)
    return float(2 * np.median(inscribed) * step)


def auto_zoom(data01: np.ndarray, target_px: float = TARGET_PARTICLE_PX) -> float:
    """Zoom that brings the typical particle to about ``target_px`` across.

    Large particles are shrunk (fewer pixels for the network, which then sees them whole);
    zooms between 0.7 and 1.4 are left at 1 (not worth resampling); the zoom stays in
    [0.25, 2]. Images without a plausible size estimate keep zoom 1.
    """
    size = typical_particle_px(data01)
    if size is None:
        return 1.0
    zoom = float(np.clip(target_px / size, 0.25, 2.0))
    return 1.0 if 0.7 <= zoom <= 1.4 else round(zoom, 3)


COARSE_INPUT_PX = 256  # smallest window of a coarse pass, in network input px (the training crops' size)


def _at_least(start: int, stop: int, least: int, size: int) -> tuple[int, int]:
    """The interval [start, stop) grown about its centre to at least ``least`` and clipped to
    [0, size)."""
    grow = max(0, least - (stop - start))
    start, stop = start - grow // 2, stop + grow - grow // 2
    return max(0, start), min(size, stop)


def coarse_windows(
    wide: list[tuple[Region, float]], shape: tuple[int, int]
) -> tuple[float, list[tuple[int, int, int, int]]]:
    """Zoom and windows (top, left, bottom, right) of a coarse pass of the shape head, for the
    regions of the network's own particle map wider than the head was trained on, with their
    widths (:func:`~.shapes.wide_regions`, above :data:`~.shapes.COARSE_FROM_PX`; up to 80 px
    in training): none without such regions; else the zoom that brings the typical such region
    (area-weighted median width) to :data:`TARGET_PARTICLE_PX` (at least 0.25) and one window
    per wide region, its box with a margin of half its width (at least
    32 px) and at least :data:`COARSE_INPUT_PX` of network input across for context (the whole
    image when the windows would cover half of it). A window that gave the network only the
    particle and its margin lost 0.13 F1 on the generated large-particles scenes. A wide region
    is one large particle or touching ones the map merged; which of the two passes explains it
    is decided per region by the separation (:func:`nanosizer.separate.learned.learned_split`).
    (The image's quick Otsu estimate, :func:`typical_particle_px`, read large textured particles
    as 4–30 px wide: the outlines of 130–200 px EMPS particles were predicted at the native
    scale, which cut each into dozens of pieces.)"""
    if not wide:
        return 1.0, []
    typical = area_weighted_median([width for _, width in wide], [region.area_px for region, _ in wide])
    zoom = round(float(max(TARGET_PARTICLE_PX / typical, 0.25)), 3)
    h, w = shape
    least = int(np.ceil(COARSE_INPUT_PX / zoom))  # the network sees at least this much around it
    windows = []
    for region, width in wide:
        rows, cols = region.slices
        margin = int(max(32, width / 2))
        windows.append(
            _at_least(rows.start - margin, rows.stop + margin, least, h)
            + _at_least(cols.start - margin, cols.stop + margin, least, w)
        )
    windows = [(top, left, bottom, right) for top, bottom, left, right in windows]
    if sum((bottom - top) * (right - left) for top, left, bottom, right in windows) >= h * w / 2:
        windows = [(0, 0, h, w)]  # as cheap as the whole image: one pass
    return zoom, windows


def input_probability(
    data: np.ndarray, model_path: str | Path | None = None, zoom: float = 1.0, mode: str | None = None
) -> np.ndarray:
    """Particle probability of an image normalised by :func:`network_input`, at its own grid.

    ``zoom`` (a number; :func:`auto_zoom` picks one) resamples the image for the network and
    the probability back.
    """
    return input_maps(data, model_path, zoom, mode=mode)[0]


def input_maps(
    data: np.ndarray,
    model_path: str | Path | None = None,
    zoom: float = 1.0,
    shapes: bool = False,
    mode: str | None = None,
) -> tuple[np.ndarray, ShapeField | None]:
    """:func:`input_probability` and, with ``shapes``, the outline predictions of the same
    forward pass (a :class:`~nanosizer.segment.shapes.ShapeField`, mapped back through ``zoom``)."""
    maps = _zoomed_maps(data, model_path, zoom, shapes, mode)
    prob = maps["probability"]
    if zoom != 1.0:
        from skimage.transform import resize

        prob = resize(prob, data.shape, order=1, anti_aliasing=False, preserve_range=True).astype(np.float32)
    field = ShapeField(maps["objects"], maps["rays"], zoom) if shapes else None
    return prob, field


def input_shapes(
    data: np.ndarray,
    model_path: str | Path | None = None,
    zoom: float = 1.0,
    mode: str | None = None,
    fine: bool = False,
) -> ShapeField:
    """Only the outline predictions of :func:`input_maps` (a coarse pass needs no probability
    brought back to full size); ``fine``: from the model's fine head when it has one."""
    maps = _zoomed_maps(data, model_path, zoom, True, mode, fine)
    return ShapeField(maps["objects"], maps["rays"], zoom)


def _zoomed_maps(
    data: np.ndarray, model_path, zoom: float, shapes: bool, mode: str | None = None, fine: bool = False
) -> dict[str, np.ndarray]:
    """:func:`predict_maps` of ``data`` resampled by ``zoom`` (a model with a shape head when ``shapes``)."""
    model = load_model(model_path)
    if shapes and not has_shapes(model):
        raise NanosizerError(
            "this model has no shape head: learned separation needs one "
            "(use the shipped model, or --separation uecs / separation='uecs')",
            model.path,
        )
    image = data if zoom == 1.0 else rescale(data, zoom)
    return predict_maps(model, image, shapes=shapes, mode=mode, fine=fine)
