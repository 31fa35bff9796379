"""Turn a DreamNet's named stages into VJP ops for one input size.

BatchNorm is folded into the conv before it (eval-mode statistics are constants),
preprocessing becomes one per-channel scale and shift (after the BGR flip), and
anything the gradient graph cannot express raises ExportUnsupported with the module's
name, so callers fall back to autograd and say why.

One graph has two export targets (TARGETS): "onnx" uses the fastest form in ONNX
Runtime (MaxPool's Indices output plus a scatter-add), "tensorrt" only what
TensorRT's ONNX parser documents as supported (engine.export.tensorrt_rules). Only
the max-pool gradient differs; the EfficientNet graphs have no pools and are equal.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from engine.errors import DreamwallError, unknown_name
from engine.export.ops import AffineVJP, ChainVJP, ConvVJP, FireVJP, MaxPoolVJP, Shape, VJPOp
from engine.networks import DreamNet, Preprocessing
from engine.networks.efficientnet_lite import Conv2dSame, MBConv
from engine.networks.squeezenet import Fire


class ExportUnsupported(DreamwallError):
    """This network part or objective has no explicit gradient graph; autograd must do it."""


TARGETS = ("onnx", "tensorrt")
DEFAULT_TARGET = "onnx"


def check_target(target: str) -> str:
    """`target` when it is an export target, else an error with a suggestion."""
    if target not in TARGETS:
        raise unknown_name("export target", target, TARGETS)
    return target


_ACTIVATION_NAMES: dict[type[nn.Module], str] = {nn.ReLU: "relu", nn.ReLU6: "relu6"}


def preprocessing_op(pre: Preprocessing, in_shape: Shape) -> AffineVJP:
    """(x * scale - mean) / std in the network's channel order, as one scale and shift."""
    std = torch.tensor(pre.std, dtype=torch.float64)
    scale = pre.scale / std
    shift = -torch.tensor(pre.mean, dtype=torch.float64) / std
    return AffineVJP(scale, shift, pre.bgr, in_shape)


def _fold_batchnorm(weight: Tensor, bias: Tensor | None, bn: nn.BatchNorm2d) -> tuple[Tensor, Tensor]:
    if bn.running_mean is None or bn.running_var is None:
        raise ExportUnsupported("BatchNorm without running statistics cannot be folded")
    gamma = bn.weight.double() if bn.weight is not None else torch.ones_like(bn.running_var, dtype=torch.float64)
    beta = bn.bias.double() if bn.bias is not None else torch.zeros_like(bn.running_mean, dtype=torch.float64)
    factor = gamma / torch.sqrt(bn.running_var.double() + bn.eps)
    base = bias.double() if bias is not None else torch.zeros_like(factor)
    folded_weight = weight.double() * factor.view(-1, 1, 1, 1)
    folded_bias = (base - bn.running_mean.double()) * factor + beta
    return folded_weight.float(), folded_bias.float()


def _conv_op(conv: nn.Conv2d, bn: nn.BatchNorm2d | None, activation: str | None, in_shape: Shape) -> ConvVJP:
    if conv.dilation != (1, 1) or conv.padding_mode != "zeros" or conv.stride[0] != conv.stride[1]:
        raise ExportUnsupported(f"conv {conv} (dilation, padding mode or uneven stride) is not exportable")
    _, height, width = in_shape
    if isinstance(conv, Conv2dSame):
        left, right, top, bottom = conv.same_padding(height, width)
    elif isinstance(conv.padding, str):
        raise ExportUnsupported(f"conv padding '{conv.padding}' is not exportable")
    else:
        top = bottom = conv.padding[0]
        left = right = conv.padding[1]
    weight, bias = conv.weight, conv.bias
    if bn is not None:
        weight, bias = _fold_batchnorm(weight, bias, bn)
    return ConvVJP(weight, bias, conv.stride[0], (top, bottom, left, right), conv.groups, activation, in_shape)


def _sequence_ops(modules: list[nn.Module], in_shape: Shape, target: str) -> list[VJPOp]:
    """Fuse Conv [+ BatchNorm] [+ ReLU/ReLU6] runs; convert everything else one by one."""
    ops: list[VJPOp] = []
    shape = in_shape
    index = 0
    while index < len(modules):
        module = modules[index]
        if isinstance(module, nn.Conv2d):
            bn = None
            if index + 1 < len(modules) and isinstance(modules[index + 1], nn.BatchNorm2d):
                index += 1
                bn = modules[index]
            activation = None
            if index + 1 < len(modules) and type(modules[index + 1]) in _ACTIVATION_NAMES:
                index += 1
                activation = _ACTIVATION_NAMES[type(modules[index])]
            op: VJPOp = _conv_op(module, bn, activation, shape)
        else:
            op = module_op(module, shape, target)
        ops.append(op)
        shape = op.out_shape
        index += 1
    return ops


def _mbconv_op(block: MBConv, in_shape: Shape) -> ChainVJP:
    ops: list[VJPOp] = []
    shape = in_shape
    parts = [(block._depthwise_conv, block._bn1, "relu6"), (block._project_conv, block._bn2, None)]
    if block.has_expand:
        parts.insert(0, (block._expand_conv, block._bn0, "relu6"))
    for conv, bn, activation in parts:
        op = _conv_op(conv, bn, activation, shape)
        ops.append(op)
        shape = op.out_shape
    return ChainVJP(ops, residual=block.residual)


def module_op(module: nn.Module, in_shape: Shape, target: str = DEFAULT_TARGET) -> VJPOp:
    """The VJP op for one stage module in the form `target` runs, or ExportUnsupported naming what is missing."""
    if isinstance(module, Fire):
        squeeze = _conv_op(module.squeeze, None, "relu", in_shape)
        expand1 = _conv_op(module.expand1x1, None, "relu", squeeze.out_shape)
        expand3 = _conv_op(module.expand3x3, None, "relu", squeeze.out_shape)
        return FireVJP(squeeze, expand1, expand3)
    if isinstance(module, MBConv):
        return _mbconv_op(module, in_shape)
    if isinstance(module, nn.MaxPool2d):
        kernel, stride, padding, dilation = module.kernel_size, module.stride, module.padding, module.dilation
        if not all(isinstance(v, int) for v in (kernel, stride, padding, dilation)) or padding != 0 or dilation != 1:
            raise ExportUnsupported(f"max-pool {module} (padding, dilation or non-square window) is not exportable")
        indices = check_target(target) == "onnx"
        return MaxPoolVJP(int(kernel), int(stride), bool(module.ceil_mode), in_shape, indices)
    if isinstance(module, nn.Sequential):
        ops = _sequence_ops(list(module), in_shape, target)
        return ops[0] if len(ops) == 1 else ChainVJP(ops)
    if isinstance(module, nn.Conv2d):
        return _conv_op(module, None, None, in_shape)
    raise ExportUnsupported(f"{type(module).__name__} has no explicit gradient (only conv/pool layers are exportable)")


def stage_ops(
    net: DreamNet, deepest: str, height: int, width: int, target: str = DEFAULT_TARGET
) -> list[tuple[str, VJPOp]]:
    """(stage name, op) from the preprocessing up to and including `deepest`, in `target`'s form."""
    check_target(target)
    names = net.stage_names()
    if deepest not in names:
        net.check_layer(deepest)
        raise ExportUnsupported(f"layer '{deepest}' is not a stage of {net.name}")
    shape: Shape = (3, height, width)
    ops: list[tuple[str, VJPOp]] = [("preprocessing", preprocessing_op(net.preprocessing, shape))]
    for name, module in net.stages():
        try:
            op = module_op(module, shape, target)
        except ExportUnsupported as error:
            raise ExportUnsupported(f"{net.name} stage '{name}': {error}") from None
        ops.append((name, op))
        shape = op.out_shape
        if name == deepest:
            break
    return ops
