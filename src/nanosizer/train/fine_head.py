"""A second shape head, for the fine pass only, added to a finished model file behind a switch.

The fine pass (:mod:`nanosizer.separate.rafts`) outlines rafts of small particles on the image
enlarged 3x or 5x. A head that has learned such rafts cuts large particles elsewhere (model
card: the small-raft branch), so it must not replace the shipped head; a plain second output
would cost every forward pass ~20 %. Here it sits behind the switch input ``fine_shapes``
(:mod:`.graft`): off (the default), the native ``objects`` and ``rays``, bit for bit those of
the file before, at the same speed; on, the fine head's. The features kept for the subgraph
cost memory (a 2048² analysis: ~0.2 GB more at its peak, see the model card).

The fine head stays in float32 (0.6 M parameters, ~2.4 MB): it runs only on raft windows, and
float gives the same result on every CPU without a second calibration.

    python -m nanosizer.train.fine_head MODEL.onnx --segmenter float.onnx \\
        --head runs/fine/head.pt --out model_fine.onnx
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..segment.network import FINE_SWITCH as SWITCH  # the model input that selects the fine head
from .graft import exported_subgraph, graft_switched, graft_target, head_entry, save_with_entry

_PREFIX = "fine"
_OUTPUTS = ["objects", "rays"]


def fine_head_graph(branch, segmenter, outer: dict[str, str]):
    """The trained ``branch`` on ``segmenter`` (float32) as an ONNX subgraph reading the outer
    tensors ``outer`` and giving ``fine/objects`` (probability) and ``fine/rays``."""
    import torch

    class FineHead(torch.nn.Module):
        def __init__(self, branch):
            super().__init__()
            self.branch = branch

        def forward(self, low, high, features):
            objects, rays = self.branch(low, high, features)
            return torch.sigmoid(objects), rays

    with torch.no_grad():
        example = segmenter.encoded(torch.rand(1, segmenter.in_channels, 256, 256))
    grid = {0: "n", 2: "h", 3: "w"}
    sub = exported_subgraph(
        FineHead(branch),
        example,
        {name: outer[name] for name in ("low", "high", "features")},
        _OUTPUTS,
        _PREFIX,
        {"low": grid, "high": {0: "n", 2: "h16", 3: "w16"}, "features": grid},
    )
    sub.name = "fine_head"
    return sub


def attach_fine_head(model: Path, segmenter_onnx: Path, head_checkpoint: Path, out: Path) -> Path:
    """Write ``out``: ``model`` (a shipped file with a shape branch, int8 or float) with the
    fine head of ``head_checkpoint`` behind the ``fine_shapes`` switch; atomically."""
    from .shapes import frozen_segmenter, trained_branch

    proto, outer = graft_target(model, SWITCH, "a fine head")
    segmenter = frozen_segmenter(segmenter_onnx)
    branch, log = trained_branch(segmenter, head_checkpoint)
    sub = fine_head_graph(branch, segmenter, outer)
    graft_switched(proto.graph, sub, SWITCH, _OUTPUTS, _PREFIX, list(outer.values()))
    entry = {"switch": SWITCH, "precision": "float32", **head_entry(log)}
    return save_with_entry(proto, out, "fine_head", entry)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="the model file (with its shape branch) to extend")
    parser.add_argument(
        "--segmenter", type=Path, required=True, help="the float segmenter the head was trained on"
    )
    parser.add_argument(
        "--head", type=Path, required=True, help="head.pt of python -m nanosizer.train.shapes"
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    attach_fine_head(args.model, args.segmenter, args.head, args.out)


if __name__ == "__main__":
    main()
