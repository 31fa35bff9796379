"""Where a render dreams: fp32 for quality unless the preset says fp16, which needs a GPU on this machine or
on the Ray cluster; refusals name what is missing."""

from __future__ import annotations

import pytest
import torch

from engine.errors import DreamwallError
from installation.rendering.render_device import cluster_placement, local_placement, render_dtype


def test_render_precision_is_fp32_unless_the_preset_asks_for_fp16_on_a_gpu():
    assert render_dtype("auto", torch.device("cuda"), "preset 'x'") == torch.float32  # quality first
    assert render_dtype("fp16", torch.device("cuda"), "preset 'x'") == torch.float16
    assert render_dtype("bf16", torch.device("cpu"), "preset 'x'") == torch.float32
    with pytest.raises(DreamwallError, match="preset 'x': precision fp16 needs a CUDA GPU; this render runs on cpu"):
        render_dtype("fp16", torch.device("cpu"), "preset 'x'")


def test_on_this_machine_the_device_follows_the_live_rules():
    assert local_placement("cpu", "auto", "preset 'x'") == (torch.device("cpu"), torch.float32)
    with pytest.raises(DreamwallError, match=r"unknown device 'cdua' \(did you mean 'cuda'\?\)"):
        local_placement("cdua", "auto", "preset 'x'")


@pytest.mark.parametrize(
    ("device", "precision", "gpus", "placed"),
    [("auto", "auto", 0, ("cpu", "float32")), ("auto", "auto", 4, ("cuda", "float32")),
     ("cpu", "auto", 4, ("cpu", "float32")), ("cuda", "fp16", 1, ("cuda", "float16")),
     ("auto", "fp16", 2, ("cuda", "float16")), ("cuda:1", "auto", 2, ("cuda", "float32"))],
)  # fmt: skip
def test_chunk_tasks_take_a_gpu_where_the_cluster_has_one(device, precision, gpus, placed):
    assert cluster_placement(device, precision, gpus, "the Ray cluster at h:6379", "preset 'x'") == placed


@pytest.mark.parametrize(
    ("device", "precision", "message"),
    [("cuda", "auto", "--device cuda, which needs a GPU, and the Ray cluster at h:6379 has none"),
     ("auto", "fp16", "preset 'x' asks for precision fp16, which needs a GPU, and the Ray cluster at h:6379 has none"),
     ("cpu", "fp16", "precision fp16 needs a CUDA GPU; this render runs on cpu"),
     ("gpu", "auto", "unknown device 'gpu'")],
)  # fmt: skip
def test_a_gpu_the_cluster_lacks_is_refused_by_name(device, precision, message):
    with pytest.raises(DreamwallError, match=message.replace("(", r"\(")):
        cluster_placement(device, precision, 0, "the Ray cluster at h:6379", "preset 'x'")
