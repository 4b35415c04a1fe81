"""A second shape head, for the fine pass only, added to a finished model file behind a switch.

The fine pass (:mod:`nanosizer.separate.rafts`) outlines rafts of small particles on the image
enlarged 3x or 5x. A head that has learned such rafts cuts large particles elsewhere (model
card: the small-raft branch), so it must not replace the shipped head; and ONNX Runtime
computes every node of a graph whatever outputs are asked for, so a plain second output would
cost every forward pass ~20 %. Here the fine head lives in an ``If`` node on the switch input
``fine_shapes``, placed as soon as the features it reads exist; switched off it gives two
one-element zeros, and ``Where`` passes the native ``objects`` and ``rays`` through; switched
on, ``Where`` takes the fine head's. ``fine_shapes`` has a default (false), so callers that do
not know it get the native outputs, bit for bit those of the file before (the native graph is
not touched, its two outputs only renamed), at the same speed; the features kept for the
subgraph cost memory (a 2048² analysis: ~0.2 GB more at its peak, see the model card).

The fine head stays in float32 (0.6 M parameters, ~2.4 MB): it runs only on raft windows, and
float gives the same result on every CPU without a second calibration.

    python -m nanosizer.train.fine_head MODEL.onnx --segmenter float.onnx \\
        --head runs/fine/head.pt --out model_fine.onnx
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..segment.network import FINE_SWITCH as SWITCH  # the model input that selects the fine head

_NATIVE = {"objects": "native_objects", "rays": "native_rays"}


def _outer_tensors(graph) -> dict[str, str]:
    """Names of the encoder's stride-4 and stride-16 features and of the decoder's features, as
    the native shape branch reads them (``low``, ``high``, ``features`` of :class:`ShapeBranch`)."""
    nodes = {node.name: node for node in graph.node}
    producer = {out: node for node in graph.node for out in node.output}
    try:
        high = nodes["/shapes/aspp/branches.0/branches.0.0/Conv"].input[0]
        low = nodes["/shapes/skip/skip.0/Conv"].input[0]
    except KeyError as err:
        raise ValueError(f"the model has no shape branch as nanosizer exports it (no node {err})") from None
    features = {  # what the head's concatenation takes from outside the branch
        t
        for n in graph.node
        if n.op_type == "Concat" and n.name.startswith("/shapes/")
        for t in n.input
        if t in producer and not producer[t].name.startswith("/shapes/")
    }
    if len(features) != 1:
        raise ValueError(f"cannot tell the decoder's features among the branch's inputs {sorted(features)}")
    return {"low": low, "high": high, "features": features.pop()}


def fine_head_graph(branch, segmenter, outer: dict[str, str]):
    """The trained ``branch`` on ``segmenter`` (float32) as an ONNX subgraph reading the outer
    tensors ``outer`` and giving ``fine/objects`` (probability) and ``fine/rays``."""
    import tempfile

    import onnx
    import torch

    class FineHead(torch.nn.Module):
        def __init__(self, branch):
            super().__init__()
            self.branch = branch

        def forward(self, low, high, features):
            objects, rays = self.branch(low, high, features)
            return torch.sigmoid(objects), rays

    head = FineHead(branch).eval()
    x = torch.rand(1, segmenter.in_channels, 256, 256)
    with torch.no_grad():
        example = segmenter.encoded(x)
    grid = {0: "n", 2: "h", 3: "w"}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fine.onnx"
        torch.onnx.export(
            head,
            example,
            str(path),
            input_names=["low", "high", "features"],
            output_names=["objects", "rays"],
            dynamic_axes={"low": grid, "high": {0: "n", 2: "h16", 3: "w16"}, "features": grid},
            opset_version=17,
            dynamo=False,
        )
        sub = onnx.load(str(path)).graph
    rename = {name: outer[name] for name in ("low", "high", "features")}
    for node in sub.node:
        node.name = "fine" + node.name if node.name.startswith("/") else "fine/" + node.name
        node.input[:] = [rename.get(t, f"fine/{t}" if t else t) for t in node.input]
        node.output[:] = [f"fine/{t}" for t in node.output]
    for init in sub.initializer:
        init.name = f"fine/{init.name}"
    del sub.input[:]
    for out in sub.output:
        out.name = f"fine/{out.name}"
    sub.name = "fine_head"
    return sub


_RECOMPUTED = ("DequantizeLinear", "Relu")  # cheap element-wise steps the fine head redoes itself


def _recompute_inside(sub, graph) -> None:
    """Let ``sub`` redo the element-wise steps (dequantisation, ReLU) that give the outer
    features it reads, from the int8 tensors before them: an outer tensor that a subgraph
    reads must exist on its own, in float and in NCHW, where onnxruntime otherwise fuses those
    steps into the integer convolutions around them (a float tensor kept for the subgraph cost
    ~3 % of the forward pass)."""
    from onnx import helper

    producer = {t: node for node in graph.node for t in node.output}
    copies: dict[str, object] = {}

    def local(name: str) -> str:
        source = producer.get(name)
        if source is None or source.op_type not in _RECOMPUTED:
            return name
        if name not in copies:
            inputs = [local(source.input[0]), *source.input[1:]]
            copies[name] = helper.make_node(source.op_type, inputs, [f"fine/redo/{name}"])
            copies[name].attribute.extend(source.attribute)  # a DequantizeLinear's axis
        return f"fine/redo/{name}"

    for node in sub.node:
        node.input[:] = [local(name) if name in producer else name for name in node.input]
    for k, copy in enumerate(copies.values()):  # in dependency order: inner steps were made first
        sub.node.insert(k, copy)


def attach_fine_head(model: Path, segmenter_onnx: Path, head_checkpoint: Path, out: Path) -> Path:
    """Write ``out``: ``model`` (a shipped file with a shape branch, int8 or float) with the
    fine head of ``head_checkpoint`` behind the ``fine_shapes`` switch; atomically."""
    import onnx
    from onnx import TensorProto, helper

    from .export import save_model
    from .shapes import frozen_segmenter, trained_branch

    proto = onnx.load(str(model))
    graph = proto.graph
    if any(i.name == SWITCH for i in graph.input):
        raise ValueError(f"{model} already has a fine head (input {SWITCH!r})")
    outer = _outer_tensors(graph)
    segmenter = frozen_segmenter(segmenter_onnx)
    branch, log = trained_branch(segmenter, head_checkpoint)
    then_graph = fine_head_graph(branch, segmenter, outer)
    _recompute_inside(then_graph, graph)
    if {o.name for o in graph.output} != {"probability", *_NATIVE}:
        raise ValueError(f"{model} does not give probability, objects and rays")
    for node in graph.node:
        node.output[:] = [_NATIVE.get(t, t) for t in node.output]
    for sub_out in then_graph.output:
        sub_out.CopyFrom(helper.make_tensor_value_info(sub_out.name, TensorProto.FLOAT, None))
    # Switched off, the If gives two one-element zeros at once, and Where passes the native
    # outputs through: run early, the If holds no features past the native head's own use.
    else_graph = helper.make_graph(
        [
            helper.make_node(
                "Constant",
                [],
                [f"off/{k}"],
                value=helper.make_tensor(f"off/{k}", TensorProto.FLOAT, [1] * 4, [0.0]),
            )
            for k in _NATIVE
        ],
        "fine_head_off",
        [],
        [helper.make_tensor_value_info(f"off/{k}", TensorProto.FLOAT, None) for k in _NATIVE],
    )
    switch = helper.make_node(
        "If",
        [SWITCH],
        [f"switched/{k}" for k in _NATIVE],
        name="fine_head",
        then_branch=then_graph,
        else_branch=else_graph,
    )
    producer = {t: k for k, node in enumerate(graph.node) for t in node.output}
    graph.node.insert(max(producer[t] for t in outer.values()) + 1, switch)
    graph.node.extend(
        helper.make_node("Where", [SWITCH, f"switched/{k}", native], [k], name=f"{k}_of_the_switched_head")
        for k, native in _NATIVE.items()
    )
    graph.input.append(helper.make_tensor_value_info(SWITCH, TensorProto.BOOL, []))
    graph.initializer.append(helper.make_tensor(SWITCH, TensorProto.BOOL, [], [False]))
    info = {p.key: p.value for p in proto.metadata_props}
    nanosizer = json.loads(info.get("nanosizer", "{}"))
    history = log.get("history", [])
    log = {k: v for k, v in log.items() if k != "history"}
    if history:
        log["val_loss"] = history[-1]["val_loss"]
    nanosizer["fine_head"] = {"switch": SWITCH, "precision": "float32", **log}
    onnx.checker.check_model(proto)
    return save_model(proto, out, {**info, "nanosizer": json.dumps(nanosizer)})


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
