"""Layer types that know their own vector-Jacobian product, with static shapes.

Each op runs forward (`run`, returning what its backward needs) and maps an output
gradient to an input gradient (`vjp`) using only plain feed-forward ops (Conv,
ConvTranspose, Pad, Slice, Where, Concat, Split, MaxPool; for ONNX Runtime also MaxPool's
Indices output and a ScatterElements), so ONNX and TensorRT can take the whole
gradient graph. Geometry is fixed at construction for one input size:
the exported graph is static, which TensorRT optimises best.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Shape = tuple[int, int, int]  # channels, height, width
Saved = tuple[Any, ...]
ACTIVATIONS = (None, "relu", "relu6")


class VJPOp(nn.Module):
    """One stage piece: forward with saved tensors, and its input gradient."""

    in_shape: Shape
    out_shape: Shape

    def run(self, x: Tensor) -> tuple[Tensor, Saved]:
        raise NotImplementedError

    def vjp(self, grad: Tensor, saved: Saved) -> Tensor:
        raise NotImplementedError

    def defer_output_mask(self) -> str | None:
        """Stop masking the output gradient by the final activation and name it, or None when that is impossible.

        A max-pool right after routes each gradient to one input, its window's
        maximum, where the activation's mask equals the mask of the pooled value: it
        can mask at pooled size (a quarter of the elements) instead.
        """
        return None


def _active(y: Tensor, activation: str | None) -> Tensor | None:
    """Where the activation passes gradient, read from its output (as autograd does)."""
    if activation == "relu":
        return y > 0
    if activation == "relu6":
        # hardtanh's backward passes where min < input < max, i.e. 0 < y < 6.
        return (y > 0) & (y < 6)
    return None


class _ConstantPad(torch.autograd.Function):
    """F.pad by fixed amounts, exported as one Pad node whose `pads` is a constant.

    The TorchScript exporter otherwise builds the amounts at run time (Concat, a Slice
    with step -1, Transpose, Cast) and cannot fold them (it folds only steps of 1): a
    shape-tensor chain per pad that TensorRT would have to evaluate while building.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, pads: tuple[int, int, int, int], value: float) -> Tensor:
        return F.pad(x, pads, value=value)  # pads as F.pad takes them: left, right, top, bottom

    @staticmethod
    def symbolic(g: Any, x: Any, pads: tuple[int, int, int, int], value: float) -> Any:
        left, right, top, bottom = pads
        amounts = g.op("Constant", value_t=torch.tensor([0, 0, top, left, 0, 0, bottom, right], dtype=torch.int64))
        return g.op("Pad", x, amounts, g.op("Constant", value_t=torch.tensor(value)), mode_s="constant")


def constant_pad(x: Tensor, pads: tuple[int, int, int, int], value: float = 0.0) -> Tensor:
    """F.pad(x, (left, right, top, bottom), value=value), exported with constant amounts."""
    return _ConstantPad.apply(x, pads, value)


def _transposed_for_conv(weight: Tensor, groups: int) -> Tensor:
    """Weights of the stride-1 conv that equals this conv's input VJP (transpose + flip per group)."""
    out_ch, in_per_group, kh, kw = weight.shape
    out_per_group = out_ch // groups
    grouped = weight.reshape(groups, out_per_group, in_per_group, kh, kw).transpose(1, 2)
    return grouped.reshape(groups * in_per_group, out_per_group, kh, kw).flip(2, 3).contiguous()


class ConvVJP(VJPOp):
    """Conv2d (BatchNorm already folded in) with explicit (top, bottom, left, right) zero padding and an activation.

    The input gradient of a stride-1 conv is an ordinary conv with transposed,
    flipped weights (runtimes optimise Conv far better than ConvTranspose); strided
    convs use ConvTranspose with the same weights and the output padding that
    restores the padded input size, then crop the padding away.
    """

    def __init__(
        self,
        weight: Tensor,
        bias: Tensor | None,
        stride: int,
        pads: tuple[int, int, int, int],
        groups: int,
        activation: str | None,
        in_shape: Shape,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.register_buffer("weight", weight.detach().float().contiguous())
        self.register_buffer("bias", None if bias is None else bias.detach().float().contiguous())
        self.stride, self.groups, self.activation = stride, groups, activation
        self.pads = pads
        self.mask_output = True
        _, height, width = in_shape
        kh, kw = weight.shape[-2:]
        top, bottom, left, right = pads
        padded_h, padded_w = height + top + bottom, width + left + right
        out_h, out_w = (padded_h - kh) // stride + 1, (padded_w - kw) // stride + 1
        self.in_shape, self.out_shape = in_shape, (int(weight.shape[0]), out_h, out_w)
        if stride == 1:
            self.register_buffer("back_weight", _transposed_for_conv(self.weight, groups))
            self.back_pads = (kh - 1 - top, kh - 1 - bottom, kw - 1 - left, kw - 1 - right)
            if min(self.back_pads) < 0:
                raise ValueError(f"padding {pads} larger than kernel-1 is not supported")
        else:
            self.register_buffer("back_weight", self.weight.clone())  # unshared, so torch.jit.trace accepts it
            self.output_padding = (padded_h - ((out_h - 1) * stride + kh), padded_w - ((out_w - 1) * stride + kw))
            self.transpose_padding = (min(top, bottom), min(left, right))
            self.crop = (top - self.transpose_padding[0], left - self.transpose_padding[1])

    @staticmethod
    def _conv(x: Tensor, weight: Tensor, bias: Tensor | None, stride: int, pads: tuple[int, int, int, int],
              groups: int) -> Tensor:
        top, bottom, left, right = pads
        if top == bottom and left == right:
            return F.conv2d(x, weight, bias, stride, (top, left), 1, groups)
        return F.conv2d(constant_pad(x, (left, right, top, bottom)), weight, bias, stride, 0, 1, groups)

    def run(self, x: Tensor) -> tuple[Tensor, Saved]:
        y = self._conv(x, self.weight, self.bias, self.stride, self.pads, self.groups)
        if self.activation == "relu":
            y = F.relu(y)
        elif self.activation == "relu6":
            y = F.relu6(y)
        return y, (y,)

    def defer_output_mask(self) -> str | None:
        self.mask_output = self.activation is None
        return self.activation

    def vjp(self, grad: Tensor, saved: Saved) -> Tensor:
        mask = _active(saved[0], self.activation) if self.mask_output else None
        if mask is not None:
            grad = torch.where(mask, grad, torch.zeros((), dtype=grad.dtype, device=grad.device))
        if self.stride == 1:
            return self._conv(grad, self.back_weight, None, 1, self.back_pads, self.groups)
        full = F.conv_transpose2d(
            grad, self.back_weight, None, self.stride, self.transpose_padding, self.output_padding, self.groups
        )
        _, height, width = self.in_shape
        if full.shape[-2:] == (height, width):
            return full
        return full[:, :, self.crop[0]:self.crop[0] + height, self.crop[1]:self.crop[1] + width]


class AffineVJP(VJPOp):
    """Per-channel x * scale + shift after an optional channel reversal (RGB -> BGR).

    Cheaper than a 1x1 conv with 3 channels, which runtimes handle poorly.
    """

    def __init__(self, scale: Tensor, shift: Tensor, reverse: bool, in_shape: Shape) -> None:
        super().__init__()
        self.register_buffer("scale", scale.detach().float().reshape(1, -1, 1, 1))
        self.register_buffer("shift", shift.detach().float().reshape(1, -1, 1, 1))
        self.reverse = reverse
        self.in_shape = self.out_shape = in_shape

    @staticmethod
    def _reversed(x: Tensor) -> Tensor:
        return torch.cat([x[:, c:c + 1] for c in range(x.shape[1] - 1, -1, -1)], 1)

    def run(self, x: Tensor) -> tuple[Tensor, Saved]:
        x = self._reversed(x) if self.reverse else x
        return x * self.scale.to(x.dtype) + self.shift.to(x.dtype), ()

    def vjp(self, grad: Tensor, saved: Saved) -> Tensor:
        grad = grad * self.scale.to(grad.dtype)
        return self._reversed(grad) if self.reverse else grad


def pooled_size(size: int, kernel: int, stride: int, ceil_mode: bool) -> int:
    """PyTorch's pooled length (padding 0): with ceil_mode the last window may overhang but must start inside."""
    steps = (size - kernel) / stride
    out = (math.ceil(steps) if ceil_mode else math.floor(steps)) + 1
    if ceil_mode and (out - 1) * stride >= size:
        out -= 1
    return out


class _MaxPoolFlatIndices(torch.autograd.Function):
    """Max-pool that also returns each maximum's index into the flattened input (all of N, C, H, W).

    That is exactly ONNX MaxPool's optional Indices output (first maximum in window
    scan order, as PyTorch breaks ties), so `symbolic` exports it as one node; the
    TorchScript exporter's own translation of return_indices=True adds a full-size 1x1
    MaxPool just to turn those indices back into PyTorch's per-plane ones.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, kernel: int, stride: int, ceil_mode: bool) -> tuple[Tensor, Tensor]:
        y, indices = F.max_pool2d(x, kernel, stride, 0, 1, ceil_mode, return_indices=True)
        batch, channels, height, width = x.shape
        planes = torch.arange(batch * channels, dtype=indices.dtype, device=x.device).view(batch, channels, 1, 1)
        return y, indices + planes * (height * width)

    @staticmethod
    def symbolic(g: Any, x: Any, kernel: int, stride: int, ceil_mode: bool) -> tuple[Any, Any]:
        return g.op(
            "MaxPool", x, kernel_shape_i=[kernel, kernel], strides_i=[stride, stride], pads_i=[0, 0, 0, 0],
            ceil_mode_i=int(ceil_mode), storage_order_i=0, outputs=2,
        )


class MaxPoolVJP(VJPOp):
    """Max-pool whose gradient goes to each window's first maximum (PyTorch's tie-breaking).

    Two routings, chosen per export target (engine.export.convert.TARGETS):

    - `indices=True` (ONNX Runtime): the forward keeps the maximum's flat index (ONNX
      MaxPool's Indices output) and the gradient is scatter-added there
      (ScatterElements, reduction add: overlapping windows can share a maximum). This
      replaced routing by comparison planes, which cost ONNX Runtime several times the
      pool's own time.
    - `indices=False` (TensorRT, whose parser has no MaxPool Indices output and no
      scatter reductions): for each of the k*k window offsets in row-major order, the
      input seen at that offset is compared with the window's maximum; a running "not
      yet taken" mask keeps only the first equal one per window, which is the element
      PyTorch picks. The k*k gradient planes go back to the input grid through one
      grouped ConvTranspose with one-hot kernels, which also sums overlapping windows.

    `mask_activation`: the op before defers its activation mask here (see
    VJPOp.defer_output_mask).
    """

    def __init__(self, kernel: int, stride: int, ceil_mode: bool, in_shape: Shape, indices: bool = True) -> None:
        super().__init__()
        channels, height, width = in_shape
        self.kernel, self.stride, self.ceil_mode, self.indices = kernel, stride, ceil_mode, indices
        out_h = pooled_size(height, kernel, stride, ceil_mode)
        out_w = pooled_size(width, kernel, stride, ceil_mode)
        self.in_shape, self.out_shape = in_shape, (channels, out_h, out_w)
        self.mask_activation: str | None = None  # set when the op before defers its mask (defer_output_mask)
        # The input extent the windows cover: ceil-mode windows overhang the bottom/right edge.
        self.span = ((out_h - 1) * stride + kernel, (out_w - 1) * stride + kernel)
        if not indices:
            one_hot = torch.eye(kernel * kernel).reshape(kernel * kernel, 1, kernel, kernel)
            self.register_buffer("route", one_hot.repeat(channels, 1, 1, 1))  # (C*k*k, 1, k, k), groups=C

    def run(self, x: Tensor) -> tuple[Tensor, Saved]:
        if not self.indices:
            y = F.max_pool2d(x, self.kernel, self.stride, 0, 1, self.ceil_mode)
            return y, (x, y)
        y, indices = _MaxPoolFlatIndices.apply(x, self.kernel, self.stride, self.ceil_mode)
        return y, (x, y, indices)

    def vjp(self, grad: Tensor, saved: Saved) -> Tensor:
        x, y = saved[0], saved[1]
        mask = _active(y, self.mask_activation)
        if mask is not None:
            grad = torch.where(mask, grad, torch.zeros((), dtype=grad.dtype, device=grad.device))
        if not self.indices:
            return self._routed_by_comparison(grad, x)
        # Zeros as x * 0 (activations are finite): a plain zeros is folded by the exporter into a
        # constant the size of the pool's input, ten times the weights' size in the file.
        flat = x.reshape(-1).to(grad.dtype) * 0
        return flat.scatter_add(0, saved[2].reshape(-1), grad.reshape(-1)).view(x.shape)

    @staticmethod
    def _fit(t: Tensor, size: tuple[int, int], height: int, width: int, value: float) -> Tensor:
        """Crop or pad (bottom/right, with `value`) from `size` to height x width.

        The static sizes come from the op's geometry, not t.shape: traced shapes would
        export the pad amounts as a computed chain instead of constants.
        """
        pad_h, pad_w = height - size[0], width - size[1]
        if pad_h > 0 or pad_w > 0:
            t = constant_pad(t, (0, max(pad_w, 0), 0, max(pad_h, 0)), value)
        if pad_h < 0 or pad_w < 0:
            t = t[:, :, :height, :width]
        return t

    def _routed_by_comparison(self, grad: Tensor, x: Tensor) -> Tensor:
        kernel, stride = self.kernel, self.stride
        channels, height, width = self.in_shape
        _, out_h, out_w = self.out_shape
        # -inf never wins a window: every window starts inside the input.
        padded = self._fit(x, (height, width), *self.span, float("-inf"))
        seen = [
            padded[:, :, dy:dy + (out_h - 1) * stride + 1:stride, dx:dx + (out_w - 1) * stride + 1:stride]
            for dy in range(kernel) for dx in range(kernel)
        ]  # each window's elements, row-major, as k*k pooled-size planes
        # The window maximum from these same planes, not the MaxPool output: equal to one of them
        # bit for bit whatever precision or fusion an FP16 engine picks for the pool.
        peak = functools.reduce(torch.maximum, seen)
        zero = torch.zeros((), dtype=grad.dtype, device=grad.device)
        free: Tensor | None = None  # windows whose maximum is not yet taken
        planes = []
        for plane in seen:
            hit = plane == peak
            first = hit if free is None else hit & free
            free = ~hit if free is None else free & ~hit
            planes.append(torch.where(first, grad, zero))
        stacked = torch.stack(planes, 2).reshape(grad.shape[0], channels * kernel * kernel, out_h, out_w)
        routed = F.conv_transpose2d(stacked, self.route.to(grad.dtype), None, stride, 0, 0, channels)
        return self._fit(routed, self.span, height, width, 0.0)


class FireVJP(VJPOp):
    """SqueezeNet's fire: squeeze, then two expand convs side by side, concatenated (VJP: split, sum)."""

    def __init__(self, squeeze: ConvVJP, expand1: ConvVJP, expand3: ConvVJP) -> None:
        super().__init__()
        self.squeeze, self.expand1, self.expand3 = squeeze, expand1, expand3
        self.in_shape = squeeze.in_shape
        _, height, width = expand1.out_shape
        self.split = expand1.out_shape[0]
        self.out_shape = (expand1.out_shape[0] + expand3.out_shape[0], height, width)

    def run(self, x: Tensor) -> tuple[Tensor, Saved]:
        s, saved_s = self.squeeze.run(x)
        a, saved_a = self.expand1.run(s)
        b, saved_b = self.expand3.run(s)
        return torch.cat([a, b], 1), (saved_s, saved_a, saved_b)

    def defer_output_mask(self) -> str | None:
        if self.expand1.activation != self.expand3.activation:
            return None
        self.expand1.defer_output_mask()
        return self.expand3.defer_output_mask()

    def vjp(self, grad: Tensor, saved: Saved) -> Tensor:
        saved_s, saved_a, saved_b = saved
        grad_a, grad_b = grad[:, :self.split], grad[:, self.split:]
        grad_s = self.expand1.vjp(grad_a, saved_a) + self.expand3.vjp(grad_b, saved_b)
        return self.squeeze.vjp(grad_s, saved_s)


class ChainVJP(VJPOp):
    """Ops in sequence, optionally with a residual skip around them (MBConv)."""

    def __init__(self, ops: list[VJPOp], residual: bool = False) -> None:
        super().__init__()
        if not ops:
            raise ValueError("a chain needs at least one op")
        self.ops = nn.ModuleList(ops)
        self.residual = residual
        self.in_shape, self.out_shape = ops[0].in_shape, ops[-1].out_shape
        if residual and self.in_shape != self.out_shape:
            raise ValueError(f"residual needs equal shapes, got {self.in_shape} -> {self.out_shape}")

    def run(self, x: Tensor) -> tuple[Tensor, Saved]:
        saved = []
        y = x
        for op in self.ops:
            y, s = op.run(y)
            saved.append(s)
        return (y + x if self.residual else y), tuple(saved)

    def defer_output_mask(self) -> str | None:
        return None if self.residual else self.ops[-1].defer_output_mask()

    def vjp(self, grad: Tensor, saved: Saved) -> Tensor:
        g = grad
        for op, s in zip(reversed(self.ops), reversed(saved), strict=True):
            g = op.vjp(g, s)
        return g + grad if self.residual else g
