"""Float torch weights back from an exported model (float or int8 ONNX): a start for fine-tuning.

Only the ONNX file ships, so a later training stage starts from it. The export folds every
batch norm into the convolution before it: the weights come back as convolutions with a bias,
and each batch norm becomes a fixed affine map (identity statistics, its bias the folded one)
that training must keep in eval mode (``Recipe.frozen_bn``). Int8 weights are dequantised.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..segment.network import FINE_SWITCH


def _dequantize(q: np.ndarray, scale: np.ndarray, zero: np.ndarray | None, axis: int) -> np.ndarray:
    """ONNX DequantizeLinear: (q - zero) · scale, per channel along ``axis`` when scale is 1-D."""
    q = q.astype(np.float64)
    zero = np.zeros_like(scale) if zero is None else zero.astype(np.float64)
    if scale.ndim == 1 and q.ndim > 1:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return ((q - zero) * scale).astype(np.float32)


def module_path(node_name: str) -> str:
    """Torch module of an exported node: '/encoder/layer1/layer1.0/conv1/Conv' → 'encoder.layer1.0.conv1'."""
    parts: list[str] = []
    for comp in node_name.strip("/").split("/")[:-1]:
        if parts and comp.startswith(parts[-1] + "."):
            parts[-1] = comp  # 'stem' then 'stem.0': the same container, one level deeper
        else:
            parts.append(comp)
    return ".".join(parts)


def onnx_conv_weights(
    path: str | Path, mode: str | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """Weight and bias of every convolution in an exported model, keyed by torch module path.

    ``mode`` (an imaging mode with a decoder of its own, :data:`~nanosizer.segment.network.MODES`):
    the encoder's convolutions with that mode's decoder and shape branch (read from the subgraph
    behind its switch, :mod:`.mode_decoder`) in place of the native ones: a start for training
    that mode's decoder on. ``mode`` :data:`~nanosizer.segment.network.FINE_SWITCH`: the native
    convolutions with the fine pass's shape head (:mod:`.fine_head`, on the native decoder's
    features) in place of the native one.

    Raises ValueError naming the file when it cannot be read as ONNX or has no such mode.
    """
    import onnx

    try:
        graph = onnx.load(str(path)).graph
    except Exception as exc:  # protobuf raises its own errors on a damaged file
        raise ValueError(f"{path}: not an ONNX model ({type(exc).__name__})") from None
    consts: dict[str, np.ndarray] = {}
    convs = _graph_convs(graph, consts)
    if mode is None:
        return convs
    from .graft import switched_node

    switched = switched_node(graph, mode)
    if switched is None:
        raise ValueError(f"{path}: no decoder for the imaging mode {mode!r}")
    branch = next(a.g for a in switched.attribute if a.name == "then_branch")
    if mode == FINE_SWITCH:  # the fine head reads the native decoder's features
        base = {name: w for name, w in convs.items() if not name.startswith("shapes.")}
    else:
        base = {name: w for name, w in convs.items() if name.startswith("encoder.")}
    own = {}
    for name, weights in _graph_convs(branch, consts).items():
        name = name.split(".", 1)[1]  # 'phase.aspp...', 'phase.branch.head...', 'fine.branch.head...'
        own["shapes." + name.removeprefix("branch.") if name.startswith("branch.") else name] = weights
    return {**base, **own}


def _graph_convs(graph, consts: dict) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """The convolutions of one (sub)graph by module path; ``consts`` gathers the constants read
    so far (a subgraph's own initializers added to its parent's)."""
    from onnx import numpy_helper

    consts.update({i.name: numpy_helper.to_array(i) for i in graph.initializer})
    for node in graph.node:
        if node.op_type == "Identity" and node.input[0] in consts:  # the exporter shares equal tensors
            consts[node.output[0]] = consts[node.input[0]]
        elif node.op_type == "DequantizeLinear" and node.input[0] in consts:
            axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
            zero = consts[node.input[2]] if len(node.input) > 2 and node.input[2] else None
            consts[node.output[0]] = _dequantize(consts[node.input[0]], consts[node.input[1]], zero, axis)
    convs = {}
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        weight = consts[node.input[1]]
        bias = consts[node.input[2]] if len(node.input) > 2 and node.input[2] else None
        convs[module_path(node.name)] = (weight, bias)
    return convs


def _decoder_channels(convs: dict, path) -> int:
    """Decoder width of an exported DeepLabV3Plus: the input channels of its 1×1 head."""
    head = convs.get("head")
    if head is None:
        raise ValueError(f"{path}: no 'head' convolution: not a nanosizer DeepLabV3Plus export")
    return int(head[0].shape[1])


def _in_channels(convs: dict) -> int:
    """Input channels of an exported DeepLabV3Plus: 1 (the image) or 2 (with the polarity plane)."""
    stem = convs.get("encoder.stem.0.0")
    return int(stem[0].shape[1]) if stem is not None else 1


def state_from_onnx(path: str | Path, decoder_channels: int | None = None, mode: str | None = None) -> dict:
    """A :class:`DeepLabV3Plus` state dict with the exported model's weights (batch norms fixed);
    ``decoder_channels`` None: the file's own width (its ``head.weight``), from the same reading;
    its input channels are the file's own too. ``mode``: that imaging mode's decoder
    (:func:`onnx_conv_weights`).

    Raises ValueError when the file's convolutions do not match the architecture one to one.
    """
    from .model import DeepLabV3Plus

    every = onnx_conv_weights(path, mode)
    width = _decoder_channels(every, path) if decoder_channels is None else decoder_channels
    model = DeepLabV3Plus(width, in_channels=_in_channels(every))
    # a model with a shape branch (train/shapes.py) keeps it under "shapes": not read here
    convs = {name: w for name, w in every.items() if not name.startswith("shapes.")}
    return _filled_state(model, convs, path, "DeepLabV3Plus")


def branch_state_from_onnx(path: str | Path, mode: str | None = None) -> dict:
    """The shape branch's state dict (:class:`~.shapes.ShapeBranch`) of an exported model with a
    shape head (batch norms fixed), for fine-tuning the shipped branch on a new segmenter;
    ``mode``: the branch of that imaging mode's decoder (:func:`onnx_conv_weights`).

    Raises ValueError when the file has no shape branch or it does not match the architecture.
    """
    from .model import DeepLabV3Plus
    from .shapes import ShapeBranch

    every = onnx_conv_weights(path, mode)
    convs = {name[len("shapes.") :]: w for name, w in every.items() if name.startswith("shapes.")}
    if not convs:
        raise ValueError(f"{path}: no shape branch ('shapes.*' convolutions)")
    branch = ShapeBranch(DeepLabV3Plus(_decoder_channels(every, path)))
    return _filled_state(branch, convs, path, "the shape branch")


def _filled_state(model, convs: dict, path, what: str) -> dict:
    """``model``'s state dict with the convolutions ``convs`` (by module path) put in, each batch
    norm after one folded into it (weight 1, its bias the convolution's, running stats neutral)."""
    import torch
    from torch import nn

    modules = list(model.named_modules())
    torch_convs = {name for name, m in modules if isinstance(m, nn.Conv2d)}
    if set(convs) != torch_convs:
        missing = sorted(torch_convs ^ set(convs))[:3]
        raise ValueError(f"{path}: convolutions do not match {what} ({', '.join(missing)} ...)")
    state = model.state_dict()
    for k, (name, module) in enumerate(modules):
        if not isinstance(module, nn.Conv2d):
            continue
        weight, bias = convs[name]
        if tuple(weight.shape) != tuple(module.weight.shape):
            expected = tuple(module.weight.shape)
            raise ValueError(f"{path}: {name} has shape {weight.shape}, expected {expected}")
        state[f"{name}.weight"] = torch.from_numpy(weight.copy())
        follower = modules[k + 1] if k + 1 < len(modules) else (None, None)
        if isinstance(follower[1], nn.BatchNorm2d):  # folded: the norm becomes x·1 + bias
            norm, n = follower[0], weight.shape[0]
            eps = follower[1].eps
            state[f"{norm}.weight"] = torch.ones(n)
            state[f"{norm}.bias"] = torch.from_numpy(bias.copy()) if bias is not None else torch.zeros(n)
            state[f"{norm}.running_mean"] = torch.zeros(n)
            state[f"{norm}.running_var"] = torch.full((n,), 1.0 - eps)
        elif bias is not None:
            if module.bias is None:
                raise ValueError(f"{path}: {name} has a bias the architecture has no place for")
            state[f"{name}.bias"] = torch.from_numpy(bias.copy())
    return state


def model_from_onnx(path: str | Path):
    """The exported model as a :class:`DeepLabV3Plus` of its own width, weights loaded (batch
    norms fixed), read once."""
    from .model import DeepLabV3Plus

    state = state_from_onnx(path)
    width, channels = int(state["head.weight"].shape[1]), int(state["encoder.stem.0.0.weight"].shape[1])
    model = DeepLabV3Plus(width, in_channels=channels)
    model.load_state_dict(state)
    return model
