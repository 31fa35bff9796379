"""The dream step's gradient as one feed-forward module: image -> d objective / d image."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from engine.export.convert import DEFAULT_TARGET, ExportUnsupported, check_target, stage_ops
from engine.export.ops import MaxPoolVJP, Saved
from engine.networks import DreamNet


class GradientGraph(nn.Module):
    """Forward to the deepest target layer, then walk the VJPs back, adding each target's gradient.

    Inputs: image (1, 3, H, W) RGB in [0, 1]; energy (L,) one weight per target layer
    on its mean square; channels (sum C,) one weight per channel on its mean (see
    engine.export.targets). Built for one size: every shape in the graph is static.
    `target` ("onnx" or "tensorrt") picks the ops' form for that runtime's parser.
    """

    def __init__(
        self, net: DreamNet, layers: Sequence[str], height: int, width: int, target: str = DEFAULT_TARGET
    ) -> None:
        super().__init__()
        self.target = check_target(target)
        order = net.stage_names()
        unknown = [layer for layer in layers if layer not in order]
        if unknown:
            net.check_layer(unknown[0])
            raise ExportUnsupported(f"layer '{unknown[0]}' is not a stage of {net.name}")
        self.layers = tuple(sorted(set(layers), key=order.index))
        if not self.layers:
            raise ExportUnsupported("a gradient graph needs at least one target layer")
        self.size = (height, width)
        named = stage_ops(net, self.layers[-1], height, width, target)
        self.ops = nn.ModuleList(op for _, op in named)
        # Per stage: (energy index, channel offset, channel count, 2/numel, 1/(H*W)) when it is a target.
        self.targets: list[tuple[int, int, int, float, float] | None] = []
        offset = 0
        for name, op in named:
            if name in self.layers:
                channels, h, w = op.out_shape
                scales = (2.0 / (channels * h * w), 1.0 / (h * w))
                self.targets.append((self.layers.index(name), offset, channels, *scales))
                offset += channels
            else:
                self.targets.append(None)
        self.channel_count = offset
        for index in range(1, len(self.ops)):
            # A target's own gradient term needs the full-size mask, so only non-targets defer it.
            pool, before = self.ops[index], self.ops[index - 1]
            if isinstance(pool, MaxPoolVJP) and self.targets[index - 1] is None:
                pool.mask_activation = before.defer_output_mask()

    def forward(self, image: Tensor, energy: Tensor, channels: Tensor) -> Tensor:
        x = image
        saved: list[Saved] = []
        outputs: list[Tensor] = []
        for op in self.ops:
            x, s = op.run(x)
            saved.append(s)
            outputs.append(x)
        grad: Tensor | None = None
        for index in range(len(self.ops) - 1, -1, -1):
            target = self.targets[index]
            if target is not None:
                layer, offset, count, energy_scale, channel_scale = target
                act = outputs[index]
                weights = channels[offset:offset + count].reshape(1, count, 1, 1).to(act.dtype)
                term = act * (energy[layer:layer + 1].to(act.dtype) * energy_scale) + weights * channel_scale
                grad = term if grad is None else grad + term
            if grad is not None:
                grad = self.ops[index].vjp(grad, saved[index])
        assert grad is not None  # the deepest op is always a target
        return grad
