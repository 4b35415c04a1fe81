"""A decoder of its own for one imaging mode, added to a finished model file behind a switch
(issue 30's CPU path).

The shipped segmenter knows free-standing particles in bright field. It reads an inverted
HAADF-STEM image as bright field (the support is segmented, the metal particles on it are
not), and a phase-contrast image as particles everywhere (carbon grain as dark as the
particles). Training the whole network on all modes taught it that a grey region beside dark
particles is background, and bright field lost (model card: runs A-C). Here the modes share
only the encoder: a copy of ASPP, decoder and head, trained on one mode's scenes on the frozen
encoder (``nanosizer train --freeze-encoder --preset training-dark`` or ``training-phase``, a
CPU run), sits behind the switch input named after the mode (:data:`MODES`, :mod:`.graft`):
off (the default), the native outputs (every other image: bit for bit the file before, at the
same speed); on, the mode's own. With a shape head trained on that decoder's features
(``nanosizer.train.shapes --segmenter`` that decoder's segmenter), ``objects`` and ``rays``
switch with it: the native branch, trained on bright field, outlines almost no supported
particle (``catalyst-haadf`` with perfect maps: 98.9 % excluded).

Decoder and head stay in float32 (1.1 M parameters, ~4.3 MB): they run on their mode's images
only and give the same result on every CPU without a calibration of their own.

    python -m nanosizer.train.mode_decoder MODEL.onnx --mode dark_field \
        --segmenter runs/dark/segmenter.onnx [--head runs/dark_shapes/head.pt] --out M.onnx
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..segment.network import DARK_SWITCH, MODES, PHASE_SWITCH  # the switch inputs, one per imaging mode
from .graft import (
    exported_subgraph,
    graft_switched,
    graft_target,
    head_entry,
    replace_switched,
    save_with_entry,
)

OUTPUTS = ("probability", "objects", "rays")


def mode_decoder_graph(segmenter, outer: dict[str, str], image: str, prefix: str, branch=None):
    """The ASPP, decoder and head of ``segmenter`` (float32), and the shape ``branch`` on its
    features if given, as an ONNX subgraph reading the outer encoder tensors ``outer`` (``low``,
    ``high``) and the image ``image`` (for its size), giving ``prefix/probability`` (and
    ``prefix/objects``, ``prefix/rays``)."""
    import torch
    import torch.nn.functional as F

    class ModeDecoder(torch.nn.Module):
        def __init__(self, net, branch):
            super().__init__()
            self.net, self.branch = net, branch

        def forward(self, x, low, high):
            features = self.net.decoded(low, high)
            logits = F.interpolate(
                self.net.head(features), size=x.shape[2:], mode="bilinear", align_corners=False
            )
            if self.branch is None:
                return torch.sigmoid(logits)
            objects, rays = self.branch(low, high, features)
            return torch.sigmoid(logits), torch.sigmoid(objects), rays

    x = torch.rand(1, segmenter.in_channels, 256, 256)
    with torch.no_grad():
        low, high, _ = segmenter.encoded(x)
    sub = exported_subgraph(
        ModeDecoder(segmenter, branch),
        (x, low, high),
        {"x": image, "low": outer["low"], "high": outer["high"]},
        ["probability"] if branch is None else list(OUTPUTS),
        prefix,
        {
            "x": {0: "n", 2: "h", 3: "w"},
            "low": {0: "n", 2: "h4", 3: "w4"},
            "high": {0: "n", 2: "h16", 3: "w16"},
        },
    )
    sub.name = f"{prefix}_decoder"
    return sub


_NAMES = {DARK_SWITCH: ("dark", "a dark-field decoder"), PHASE_SWITCH: ("phase", "a phase-contrast decoder")}


def attach_mode_decoder(
    model: Path,
    segmenter_onnx: Path,
    out: Path,
    head_checkpoint: Path | None = None,
    mode: str = DARK_SWITCH,
    replace: bool = False,
) -> Path:
    """Write ``out``: ``model`` (a shipped file with a shape branch) with the decoder of
    ``segmenter_onnx`` (trained on the same encoder), and the shape head of ``head_checkpoint``
    on its features if given, behind the switch ``mode`` (one of :data:`MODES`); atomically.
    ``replace``: ``model`` has that mode's decoder already, and the new one takes its place
    (the rest of the file as it was). Its metadata entry is ``<prefix>_decoder``
    (``dark_decoder``, ``phase_decoder``)."""
    import onnx

    from .shapes import frozen_segmenter, trained_branch

    if mode not in MODES:
        raise ValueError(f"unknown imaging mode {mode!r} (one of {', '.join(MODES)})")
    prefix, what = _NAMES[mode]
    proto, outer = graft_target(model, mode, what, replace)
    graph = proto.graph
    segmenter = frozen_segmenter(segmenter_onnx)
    branch, log = trained_branch(segmenter, head_checkpoint) if head_checkpoint else (None, {})
    sub = mode_decoder_graph(segmenter, outer, graph.input[0].name, prefix, branch)
    switched = list(OUTPUTS) if branch is not None else ["probability"]
    if replace:
        replace_switched(graph, sub, mode, prefix)
    else:
        graft_switched(graph, sub, mode, switched, prefix, [outer["low"], outer["high"]])
    trained = json.loads(
        {p.key: p.value for p in onnx.load(str(segmenter_onnx)).metadata_props}.get("nanosizer", "{}")
    )
    entry = {
        "switch": mode,
        "precision": "float32",
        "outputs": switched,
        "preset": trained.get("recipe", {}).get("preset"),
        "steps": trained.get("step"),
        "val_iou": trained.get("val_iou"),
    }
    if branch is not None:
        entry["shapes"] = head_entry(log)
    return save_with_entry(proto, out, f"{prefix}_decoder", entry)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="the model file (with its shape branch) to extend")
    parser.add_argument("--mode", choices=MODES, default=DARK_SWITCH, help="the imaging mode (its switch)")
    parser.add_argument(
        "--segmenter", type=Path, required=True, help="the float segmenter trained with --freeze-encoder"
    )
    parser.add_argument(
        "--head", type=Path, default=None, help="head.pt of nanosizer.train.shapes on that segmenter"
    )
    parser.add_argument(
        "--replace",
        action="store_true",
        help="the model has this mode's decoder: the new one takes its place",
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    attach_mode_decoder(args.model, args.segmenter, args.out, args.head, args.mode, args.replace)


if __name__ == "__main__":
    main()
