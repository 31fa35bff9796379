"""README, on a GPU: each network is loaded once per (network, device, precision), however many presets use it."""

import torch

import installation.dreaming.looks as looks


def test_each_network_is_loaded_once_per_device_and_precision(monkeypatch):
    loads = []
    real = looks.load_network

    def counting(name):
        loads.append(name)
        return real(name)

    monkeypatch.setattr(looks, "load_network", counting)
    cache = looks.NetworkCache()
    first = cache.get("squeezenet1_1")
    assert cache.get("squeezenet1_1", "cpu", torch.float32) is first
    other = cache.get("squeezenet1_1", "cpu", torch.float64)
    assert other is not first and next(other.parameters()).dtype == torch.float64
    assert loads == ["squeezenet1_1", "squeezenet1_1"]
