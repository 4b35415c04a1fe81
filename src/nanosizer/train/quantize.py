"""Quantise an exported model to 8-bit integers: half the CPU time, a quarter of the size.

Static quantisation of the convolutions (weights per output channel, uint8 activations, QDQ
format), calibrated with min/max ranges on generated scenes normalised exactly as inference
normalises a micrograph; no real image is involved.

Weights use 7 of their 8 bits (``reduce_range``): onnxruntime fuses the QDQ convolutions into
integer kernels, and on x86 CPUs without AVX-512 VNNI / AVX-VNNI those add uint8 × int8 products
pairwise in 16 bits, which saturates with full-range weights and changes the result with the
processor. With 7-bit weights the pairwise sums cannot overflow, so every CPU computes what the
QDQ graph means. The first convolution (which sees the image) and the last (which gives the
logits, of every head) stay in float: with 7-bit weights there, false particles on figure
labels came back (see the model card for what was measured).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import numpy as np

CALIBRATION_PRESET = "training-v3"  # the scenes the shipped model was trained on


def calibration_images(
    n: int = 24, seed: int = 900, size: int = 512, preset: str = CALIBRATION_PRESET, channels: int = 1
):
    """``n`` generated scenes as network inputs (1, channels, size, size), seeds ``seed..seed+n-1``;
    with two channels the polarity plane alternates 0 and 1, so both modes' activations are in range."""
    from ..segment.network import network_input
    from ..synth import generate, preset_params

    for k in range(n):
        rng = np.random.default_rng(seed + k)
        scene = generate(preset_params(preset, rng, size), rng, with_table=False)
        image = network_input(scene.image)[None, None].astype(np.float32)
        if channels > 1:
            image = np.concatenate([image, np.full_like(image, k % 2)], axis=1)
        yield image


SCHEME = (
    "int8 static, QDQ, per-channel 7-bit weights (reduce_range), uint8 activations, MinMax; "
    "first and last convolution in float"
)


def output_convs(graph) -> list[str]:
    """Names of the convolutions that give the outputs (the logits of every head): those
    reached from a graph output through other operations only (resize, sigmoid, scaling)."""
    producer = {out: node for node in graph.node for out in node.output}
    found, seen = [], set()
    stack = [o.name for o in graph.output]
    while stack:
        node = producer.get(stack.pop())
        if node is None or node.name in seen:
            continue
        seen.add(node.name)
        if node.op_type == "Conv":
            found.append(node.name)
        else:
            stack.extend(node.input)
    return sorted(found)


def quantize_onnx(
    model: Path, out: Path, n_calibration: int = 24, seed: int = 900, reduce_range: bool = True
) -> Path:
    """Write ``out``: ``model`` (float32 ONNX) with int8 convolutions; its metadata carried over.

    ``reduce_range=False`` gives the earlier scheme, full 8-bit weights in every convolution,
    whose fused kernels depend on the CPU (kept only to reproduce models quantised that way).
    """
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    class Scenes(CalibrationDataReader):
        def __init__(self, channels: int):
            self.inputs = ({"image": x} for x in calibration_images(n_calibration, seed, channels=channels))

        def get_next(self):
            return next(self.inputs, None)

    model, out = Path(model), Path(out)
    source = onnx.load(str(model))
    channels = source.graph.input[0].type.tensor_type.shape.dim[1].dim_value or 1
    info = {p.key: p.value for p in source.metadata_props}
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(model), str(prepared), skip_symbolic_shape=True)
        graph = onnx.load(str(prepared)).graph
        convs = [node.name for node in graph.node if node.op_type == "Conv"]
        in_float = [convs[0], *output_convs(graph)] if reduce_range and len(convs) > 2 and all(convs) else []
        quantized = Path(tmp) / "int8.onnx"
        quantize_static(
            str(prepared),
            str(quantized),
            Scenes(channels),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=reduce_range,
            calibrate_method=CalibrationMethod.MinMax,
            op_types_to_quantize=["Conv"],
            nodes_to_exclude=in_float,
        )
        proto = onnx.load(str(quantized))
    nanosizer = json.loads(info.pop("nanosizer", "{}"))
    nanosizer["quantized"] = {
        "scheme": SCHEME if reduce_range else "int8 static, QDQ, per-channel weights, MinMax",
        "reduce_range": reduce_range,
        "calibration": f"{n_calibration} generated {CALIBRATION_PRESET} scenes from seed {seed}",
        "source_sha256_prefix": hashlib.sha256(model.read_bytes()).hexdigest()[:16],
    }
    from .export import save_model

    return save_model(proto, out, {**info, "nanosizer": json.dumps(nanosizer)})
