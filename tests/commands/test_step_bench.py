"""The bench's plain reference is fair: the notebook's loop, stopped at the layer, shipped jitter and smoothing."""

import pytest
import torch
import yaml

from engine.errors import DreamwallError
from engine.networks import load_network
from engine.objectives import LayerEnergy
from engine.step import dream_step
from installation.benchmarks.step import plain_autograd_step, shipped_step_params, stages_to
from installation.presets.loader import PRESETS_DIR


@pytest.fixture(scope="module")
def net():
    return load_network("squeezenet1_1")


def test_the_timed_step_uses_the_default_presets_jitter_and_smoothing():
    shipped = yaml.safe_load((PRESETS_DIR / "default.yaml").read_text())
    params = shipped_step_params()
    assert (params.jitter, params.smooth, params.lr) == (shipped["jitter"], shipped["smooth"], shipped["lr"])
    assert params.jitter > 0 and params.smooth > 0  # the shipped look regularises: the bench must pay for it too


def test_plain_stops_at_the_target_layer(net):
    layer = net.default_layer
    names = net.stage_names()
    after = dict(net.stages())[names[names.index(layer) + 1]]
    calls = []
    handle = after.register_forward_hook(lambda *_: calls.append(1))
    try:
        plain_autograd_step(net, layer, shipped_step_params())(torch.rand(1, 3, 48, 64))
    finally:
        handle.remove()
    assert calls == []
    assert len(stages_to(net, layer)) == names.index(layer) + 1


def test_plain_computes_the_same_step_as_the_engine(net):
    params = shipped_step_params()
    image = torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(1))
    plain = plain_autograd_step(net, net.default_layer, params, torch.Generator().manual_seed(5))(image)
    engine = dream_step(net, image, LayerEnergy(net.default_layer), params, torch.Generator().manual_seed(5))
    assert not torch.equal(plain, image)
    torch.testing.assert_close(plain, engine, rtol=1e-4, atol=1e-5)


def test_an_unknown_layer_is_named(net):
    with pytest.raises(DreamwallError, match="layer of squeezenet1_1"):
        stages_to(net, "fire99")
