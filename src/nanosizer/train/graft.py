"""Grafting a trained subgraph into a finished model file behind a switch input.

ONNX Runtime computes every node of a graph whatever outputs are asked for, so a second head
added as a plain branch would cost every forward pass. Here it lives in an ``If`` node on a
boolean input with a default (false): switched off the ``If`` gives one-element zeros at once
and ``Where`` passes the graph's own outputs through (bit for bit, at the same speed);
switched on, the subgraph's. The fine pass's shape head (:mod:`.fine_head`) and the decoders
of the dark-field and phase-contrast modes (:mod:`.mode_decoder`) are added this way.
"""

from __future__ import annotations

import json
from pathlib import Path


def graft_target(model: Path, switch: str, what: str, replace: bool = False):
    """The ONNX proto of ``model`` and its outer tensors (:func:`outer_tensors`), checked to
    take a graft behind ``switch``: a file with a shape branch giving probability, objects and
    rays, without that switch yet, or with it when ``replace`` (``what`` names the graft in the
    refusal)."""
    import onnx

    proto = onnx.load(str(model))
    present = any(i.name == switch for i in proto.graph.input)
    if present and not replace:
        raise ValueError(f"{model} already has {what} (input {switch!r})")
    if replace and not present:
        raise ValueError(f"{model}: nothing to replace, it lacks {what} (input {switch!r})")
    outer = outer_tensors(proto.graph)
    if {o.name for o in proto.graph.output} != {"probability", "objects", "rays"}:
        raise ValueError(f"{model} does not give probability, objects and rays")
    return proto, outer


def outer_tensors(graph) -> dict[str, str]:
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


def exported_subgraph(
    module, example: tuple, inputs: dict[str, str], outputs: list[str], prefix: str, axes: dict
):
    """``module`` exported to ONNX (opset 17) as a subgraph: its inputs named as in ``inputs``
    read the outer tensors they map to; its nodes, initializers and outputs (``prefix/<name>``
    for each of ``outputs``) carry ``prefix``, so two grafts never share a name."""
    import tempfile

    import onnx
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sub.onnx"
        torch.onnx.export(
            module.eval(),
            example,
            str(path),
            input_names=list(inputs),
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
        sub = onnx.load(str(path)).graph
    for node in sub.node:
        node.name = prefix + (node.name if node.name.startswith("/") else "/" + node.name)
        node.input[:] = [inputs.get(t, f"{prefix}/{t}" if t else t) for t in node.input]
        node.output[:] = [f"{prefix}/{t}" for t in node.output]
    for init in sub.initializer:
        init.name = f"{prefix}/{init.name}"
    del sub.input[:]
    for out in sub.output:
        out.name = f"{prefix}/{out.name}"
    return sub


_RECOMPUTED = ("DequantizeLinear", "Relu")  # cheap element-wise steps a subgraph redoes itself


def recompute_inside(sub, graph, prefix: str) -> None:
    """Let ``sub`` redo the element-wise steps (dequantisation, ReLU) that give the outer
    features it reads, from the int8 tensors before them: an outer tensor that a subgraph
    reads must exist on its own, in float and in NCHW, where onnxruntime otherwise fuses those
    steps into the integer convolutions around them (a float tensor kept for the subgraph cost
    ~3 % of the forward pass). The copies are named ``prefix/redo/...``."""
    from onnx import helper

    producer = {t: node for node in graph.node for t in node.output}
    copies: dict[str, object] = {}

    def local(name: str) -> str:
        source = producer.get(name)
        if source is None or source.op_type not in _RECOMPUTED:
            return name
        if name not in copies:
            inputs = [local(source.input[0]), *source.input[1:]]
            copies[name] = helper.make_node(source.op_type, inputs, [f"{prefix}/redo/{name}"])
            copies[name].attribute.extend(source.attribute)  # a DequantizeLinear's axis
        return f"{prefix}/redo/{name}"

    for node in sub.node:
        node.input[:] = [local(name) if name in producer else name for name in node.input]
    for k, copy in enumerate(copies.values()):  # in dependency order: inner steps were made first
        sub.node.insert(k, copy)


def graft_switched(graph, sub, switch: str, outputs: list[str], prefix: str, after: list[str]) -> None:
    """Put ``sub`` (giving ``prefix/<name>`` for each of ``outputs``, outputs of ``graph``)
    into ``graph`` behind the boolean input ``switch`` (false unless fed). The ``If`` sits
    right after the nodes giving the outer tensors ``after`` that the subgraph reads: switched
    off, it holds none of them past their native use; switched on, the subgraph redoes their
    element-wise steps itself (:func:`recompute_inside`)."""
    from onnx import TensorProto, helper

    _wired_inside(sub, graph, prefix)
    native = {name: f"{prefix}/native/{name}" for name in outputs}
    for node in graph.node:
        node.output[:] = [native.get(t, t) for t in node.output]
        node.input[:] = [native.get(t, t) for t in node.input]
    off = [f"{prefix}/off/{name}" for name in outputs]
    zeros = [
        helper.make_node("Constant", [], [t], value=helper.make_tensor(t, TensorProto.FLOAT, [1] * 4, [0.0]))
        for t in off
    ]
    else_graph = helper.make_graph(
        zeros, f"{prefix}_off", [], [helper.make_tensor_value_info(t, TensorProto.FLOAT, None) for t in off]
    )
    switched = [f"{prefix}/switched/{name}" for name in outputs]
    node = helper.make_node("If", [switch], switched, name=prefix, then_branch=sub, else_branch=else_graph)
    producer = {t: k for k, n in enumerate(graph.node) for t in n.output}
    graph.node.insert(max(producer[t] for t in after) + 1, node)
    graph.node.extend(
        helper.make_node("Where", [switch, on, native[name]], [name], name=f"{prefix}/{name}")
        for name, on in zip(outputs, switched, strict=True)
    )
    graph.input.append(helper.make_tensor_value_info(switch, TensorProto.BOOL, []))
    graph.initializer.append(helper.make_tensor(switch, TensorProto.BOOL, [], [False]))


def replace_switched(graph, sub, switch: str, prefix: str) -> None:
    """Put ``sub`` in place of the subgraph behind ``switch`` that :func:`graft_switched` put
    there (its outputs ``prefix/<name>`` in the same order): a retrained decoder for a mode."""
    node = switched_node(graph, switch)
    then = next(a for a in node.attribute if a.name == "then_branch")
    if [o.name for o in sub.output] != [o.name for o in then.g.output]:
        raise ValueError(
            f"the new {prefix} subgraph gives {len(sub.output)} outputs, the old one {len(then.g.output)}"
        )
    _wired_inside(sub, graph, prefix)
    then.g.CopyFrom(sub)


def switched_node(graph, switch: str):
    """The ``If`` node that :func:`graft_switched` put behind ``switch`` (None: the graph has none)."""
    return next((n for n in graph.node if n.op_type == "If" and n.input[0] == switch), None)


def _wired_inside(sub, graph, prefix: str) -> None:
    """Make ``sub`` ready to sit in an ``If`` of ``graph``: it redoes the element-wise steps
    of the outer tensors it reads (:func:`recompute_inside`), its outputs float of any shape."""
    from onnx import TensorProto, helper

    recompute_inside(sub, graph, prefix)
    for sub_out in sub.output:
        sub_out.CopyFrom(helper.make_tensor_value_info(sub_out.name, TensorProto.FLOAT, None))


def save_with_entry(proto, out: Path, key: str, entry: dict) -> Path:
    """Check ``proto`` and write it to ``out`` atomically with ``entry`` under ``key`` in its
    nanosizer metadata (the rest kept)."""
    import onnx

    from .export import save_model

    info = {p.key: p.value for p in proto.metadata_props}
    nanosizer = json.loads(info.get("nanosizer", "{}"))
    nanosizer[key] = entry
    onnx.checker.check_model(proto)
    return save_model(proto, out, {**info, "nanosizer": json.dumps(nanosizer)})


def head_entry(log: dict) -> dict:
    """What a shape head's training log says about it, for the model's metadata: its settings
    and last validation loss, without the per-step history."""
    entry = {k: v for k, v in log.items() if k != "history"}
    if log.get("history"):
        entry["val_loss"] = log["history"][-1]["val_loss"]
    return entry
