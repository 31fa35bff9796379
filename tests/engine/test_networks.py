import io
import os
import pickle
from pathlib import Path

import pytest
import torch

from engine.errors import DreamwallError
from engine.imageops import to_tensor
from engine.networks import LOGITS, load_network
from engine.networks import googlenet as googlenet_module
from engine.networks.safe_pickle import NumpyOnlyUnpickler, RefusedGlobal, load_numpy_pickle
from engine.networks.squeezenet import embedded_weights_path
from installation.commands.classify import classify

CAT_CLASSES = range(281, 286)


@pytest.mark.parametrize("name", ["squeezenet1_1", "efficientnet-lite0"])
def test_embedded_weights_see_a_cat_in_chelsea(name, chelsea):
    top = classify(name, to_tensor(chelsea), top=1)
    assert top[0][0] in CAT_CLASSES, top


def test_squeezenet_sees_espresso_in_coffee():
    import skimage.data

    index, label, _ = classify("squeezenet1_1", to_tensor(skimage.data.coffee()), top=1)[0]
    assert (index, label) == (967, "espresso")


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_unpickler_refuses_code_execution():
    payload = pickle.dumps({"conv1": _Evil()})
    with pytest.raises(RefusedGlobal, match=r"refusing to load '(posix|os)\.system'"):
        NumpyOnlyUnpickler(io.BytesIO(payload)).load()


def test_unpickler_reads_the_real_weights():
    weights = load_numpy_pickle(embedded_weights_path())
    kernel, bias = weights["conv1"]
    assert kernel.shape == (3, 3, 3, 64) and bias.shape == (64,)


def test_forward_stops_at_deepest_needed_layer(squeezenet):
    calls: list[str] = []
    handles = [module.register_forward_hook(lambda m, i, o, name=name: calls.append(name))
               for name, module in squeezenet.stages()]
    try:
        outputs = squeezenet.forward_to(torch.rand(1, 3, 64, 64), ["fire3", "fire5"])
    finally:
        for handle in handles:
            handle.remove()
    assert set(outputs) == {"fire3", "fire5"}
    assert calls[-1] == "fire5"
    assert "fire6" not in calls and LOGITS not in calls


def test_custom_weights_load_and_change_the_output(tmp_path, squeezenet):
    state = {k: v.clone() for k, v in squeezenet.state_dict().items()}
    state["conv10.0.bias"] += 5.0
    path = tmp_path / "mine.pth"
    torch.save(state, path)
    custom = load_network("squeezenet1_1", path)
    x = torch.rand(1, 3, 64, 64)
    assert not torch.allclose(custom.logits(x), squeezenet.logits(x))


def test_weights_of_wrong_shape_name_the_first_mismatching_key(tmp_path, squeezenet):
    state = dict(squeezenet.state_dict())
    state["fires.fire3.squeeze.weight"] = torch.zeros(8, 128, 1, 1)
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    with pytest.raises(DreamwallError) as error:
        load_network("squeezenet1_1", path)
    assert str(error.value) == (
        f"weights {path} do not fit squeezenet1_1: key 'fires.fire3.squeeze.weight' "
        "has shape (8, 128, 1, 1), expected (16, 128, 1, 1)"
    )


def test_weights_file_that_is_not_a_state_dict(tmp_path):
    path = tmp_path / "junk.pth"
    path.write_bytes(b"not a pickle at all")
    with pytest.raises(DreamwallError, match="not a PyTorch state dict"):
        load_network("efficientnet-lite0", path)


def test_unknown_network_suggests_the_closest():
    with pytest.raises(DreamwallError, match=r"unknown network 'squeezenet' \(did you mean 'squeezenet1_1'\?\)"):
        load_network("squeezenet")


def test_googlenet_loads_from_a_torch_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    reference = googlenet_module.DreamGoogLeNet()
    state = dict(reference.state_dict())
    state["aux1.conv.conv.weight"] = torch.zeros(1)  # the real file carries aux heads; they are dropped
    target = googlenet_module.cached_weights_path()
    assert str(target).startswith(str(tmp_path))
    target.parent.mkdir(parents=True)
    torch.save(state, target)
    net = load_network("googlenet")
    assert net.default_layer == "inception4c"
    activations = net.forward_to(torch.rand(1, 3, 96, 96), ["inception4c"])
    assert activations["inception4c"].shape[1] == 512


def test_googlenet_offline_without_cache_gives_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(DreamwallError) as error:
        load_network("googlenet")
    message = str(error.value)
    assert "squeezenet1_1, efficientnet-lite0, efficientnet-lite2" in message
    assert "--weights PATH" in message
    assert Path(str(tmp_path)).as_posix() in message
