"""Export a trained checkpoint to the ONNX file that inference loads (no torch at run time)."""

from __future__ import annotations

import json
from pathlib import Path


def export_onnx(checkpoint: Path, out: Path, metadata: dict | None = None) -> Path:
    """Write ``out`` (.onnx) from a ``best.pt``/``last.pt`` checkpoint, atomically.

    The graph takes ``image`` (N, C, H, W) float32 in [0, 1] with H, W multiples of 16 (C 1, or
    2 with the polarity plane: :func:`~.model.polarity_plane`) and
    returns ``probability`` of the same shape. ``metadata`` (JSON-able) is stored in the model's
    metadata under ``nanosizer`` (recipe, metrics), so a model file documents itself.
    """
    import onnx
    import torch

    from .model import DeepLabV3Plus

    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    channels = state["recipe"].get("in_channels", 1)
    model = DeepLabV3Plus(state["recipe"]["decoder_channels"], in_channels=channels)
    model.load_state_dict(state["model"])
    model.eval()
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    example = torch.rand(1, channels, 256, 256)
    torch.onnx.export(
        model,
        (example,),
        str(tmp),
        input_names=["image"],
        output_names=["probability"],
        dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}, "probability": {0: "n", 2: "h", 3: "w"}},
        opset_version=17,
        dynamo=False,
    )
    proto = onnx.load(str(tmp))
    info = {
        "recipe": state["recipe"],
        "step": state["step"],
        "val_iou": state["best_iou"],
        **(metadata or {}),
    }
    existing = {p.key: p.value for p in proto.metadata_props}
    return save_model(proto, out, {**existing, "nanosizer": json.dumps(info)})


def save_model(proto, out: Path, metadata: dict[str, str]) -> Path:
    """Write the ONNX ``proto`` to ``out`` with ``metadata`` as its metadata (replacing what it
    had), atomically (a temporary file beside it, then a rename)."""
    import onnx

    del proto.metadata_props[:]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    onnx.save(proto, str(tmp))
    tmp.replace(out)
    return out
