"""A dark-field decoder added to a finished model file behind a switch (issue 30's CPU path).

The shipped segmenter reads an inverted HAADF-STEM image as bright field: the support becomes
a large dark region and is segmented, the metal particles on it are not. Training the whole
network on both modes taught it that a large grey region beside dark particles is background,
and bright field lost (model card: runs A-C). Here the two modes never share a decoder: a
copy of ASPP, decoder and head, trained on dark-field scenes alone on the frozen encoder
(``nanosizer train --freeze-encoder --preset training-dark``, a CPU run), sits behind the
switch input ``dark_field`` (:mod:`.graft`): off (the default), the native outputs (bright
field: bit for bit the file before, at the same speed); on, the dark-field decoder's. With a
shape head trained on the dark-field decoder's features (``nanosizer.train.shapes
--segmenter`` that decoder's segmenter), ``objects`` and ``rays`` switch with it: the
native branch, trained on bright field, outlines almost no supported particle
(``catalyst-haadf`` with perfect maps: 98.9 % excluded).

Decoder and head stay in float32 (1.1 M parameters, ~4.3 MB): they run on dark-field images
only and give the same result on every CPU without a calibration of their own.

    python -m nanosizer.train.dark_head MODEL.onnx --segmenter runs/dark/segmenter.onnx \\
        [--head runs/dark_shapes/head.pt] --out model_dark.onnx
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..segment.network import DARK_SWITCH as SWITCH  # the model input that selects the decoder
from .graft import (
    exported_subgraph,
    graft_switched,
    graft_target,
    head_entry,
    save_with_entry,
)

_PREFIX = "dark"
OUTPUTS = ("probability", "objects", "rays")


def dark_decoder_graph(segmenter, outer: dict[str, str], image: str, branch=None):
    """The ASPP, decoder and head of ``segmenter`` (float32), and the shape ``branch`` on its
    features if given, as an ONNX subgraph reading the outer encoder tensors ``outer`` (``low``,
    ``high``) and the image ``image`` (for its size), giving ``dark/probability`` (and
    ``dark/objects``, ``dark/rays``)."""
    import torch
    import torch.nn.functional as F

    class DarkDecoder(torch.nn.Module):
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
        DarkDecoder(segmenter, branch),
        (x, low, high),
        {"x": image, "low": outer["low"], "high": outer["high"]},
        ["probability"] if branch is None else list(OUTPUTS),
        _PREFIX,
        {
            "x": {0: "n", 2: "h", 3: "w"},
            "low": {0: "n", 2: "h4", 3: "w4"},
            "high": {0: "n", 2: "h16", 3: "w16"},
        },
    )
    sub.name = "dark_decoder"
    return sub


def attach_dark_decoder(
    model: Path, segmenter_onnx: Path, out: Path, head_checkpoint: Path | None = None
) -> Path:
    """Write ``out``: ``model`` (a shipped file with a shape branch) with the dark-field decoder
    of ``segmenter_onnx`` (trained on the same encoder), and the shape head of
    ``head_checkpoint`` on its features if given, behind the ``dark_field`` switch; atomically."""
    import onnx

    from .shapes import frozen_segmenter, trained_branch

    proto, outer = graft_target(model, SWITCH, "a dark-field decoder")
    graph = proto.graph
    segmenter = frozen_segmenter(segmenter_onnx)
    if segmenter.in_channels != 1:
        raise ValueError(f"{segmenter_onnx}: a dark-field decoder reads the one-channel encoder")
    branch, log = trained_branch(segmenter, head_checkpoint) if head_checkpoint else (None, {})
    sub = dark_decoder_graph(segmenter, outer, graph.input[0].name, branch)
    switched = list(OUTPUTS) if branch is not None else ["probability"]
    graft_switched(graph, sub, SWITCH, switched, _PREFIX, [outer["low"], outer["high"]])
    trained = json.loads(
        {p.key: p.value for p in onnx.load(str(segmenter_onnx)).metadata_props}.get("nanosizer", "{}")
    )
    entry = {
        "switch": SWITCH,
        "precision": "float32",
        "outputs": switched,
        "preset": trained.get("recipe", {}).get("preset"),
        "steps": trained.get("step"),
        "val_iou": trained.get("val_iou"),
    }
    if branch is not None:
        entry["shapes"] = head_entry(log)
    return save_with_entry(proto, out, "dark_decoder", entry)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="the model file (with its shape branch) to extend")
    parser.add_argument(
        "--segmenter", type=Path, required=True, help="the float segmenter trained with --freeze-encoder"
    )
    parser.add_argument(
        "--head", type=Path, default=None, help="head.pt of nanosizer.train.shapes on that segmenter"
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    attach_dark_decoder(args.model, args.segmenter, args.out, args.head)


if __name__ == "__main__":
    main()
