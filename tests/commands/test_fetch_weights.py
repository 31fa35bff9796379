"""No download at run time: googlenet is read from torch's cache, filled only by `run.py fetch-weights`."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torch

import run
from engine.errors import DreamwallError
from engine.networks import googlenet, load_network, weights_installed


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh TORCH_HOME, and every way torch could reach the network made to fail the test."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def no_download(*args: object, **kwargs: object) -> None:
        pytest.fail(f"a download was attempted: {args}")

    for owner, name in ((torch.hub, "load_state_dict_from_url"), (torch.hub, "download_url_to_file"),
                        (urllib.request, "urlopen")):  # fmt: skip
        monkeypatch.setattr(owner, name, no_download)
    return tmp_path / "torch"


def test_networks_lists_googlenet_as_not_installed_without_a_download(empty_cache, capsys) -> None:
    assert run.main(["networks"]) == 0
    out = capsys.readouterr().out
    assert "googlenet [not installed (see README: run.py fetch-weights)], default layer inception4c" in out
    assert "inception4c" in out.split("googlenet [", 1)[1]  # its layers still listed: shapes need no weights
    assert "squeezenet1_1 (default) [embedded]" in out
    assert not weights_installed("googlenet") and not googlenet.cached_weights_path().exists()


def test_loading_googlenet_without_weights_says_how_to_get_them(empty_cache) -> None:
    with pytest.raises(DreamwallError) as caught:
        load_network("googlenet")
    assert str(caught.value).startswith(
        f"googlenet weights are not installed ({googlenet.cached_weights_path()} not found): "
        "run `python run.py fetch-weights googlenet` once on a machine with internet"
    )


def test_live_and_dream_with_googlenet_and_no_weights_are_one_line_exit_2(empty_cache, tmp_path, capsys) -> None:
    import shutil

    import numpy as np

    from installation.outputs.images import write_image
    from installation.presets.loader import PRESETS_DIR

    presets = tmp_path / "presets"
    presets.mkdir()
    shutil.copy(PRESETS_DIR / "default.yaml", presets / "default.yaml")
    (presets / "iconic.yaml").write_text("network: googlenet\nobjective: inception4c\n")
    assert run.main(["presets", "--check", str(presets / "iconic.yaml")]) == 0  # shapes only: no weights needed
    photo = tmp_path / "in.png"
    write_image(photo, np.full((64, 64, 3), 120, np.uint8))
    capsys.readouterr()
    for argv in (
        ["live", "--source", "demo", "--headless", "--frames", "1", "--no-midi", "--presets-dir", str(presets),
         "--preset", "iconic"],
        ["dream", str(photo), "-o", str(tmp_path / "out.png"), "--network", "googlenet"],
        ["classify", str(photo), "--network", "googlenet"],
    ):
        code = run.main(argv)
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2, argv
        assert err[-1].startswith("error: googlenet weights are not installed") and "fetch-weights" in err[-1], argv


def test_fetch_weights_offline_is_one_line_exit_2(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    assert run.main(["fetch-weights", "googlenet"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"error: cannot download googlenet weights from {googlenet.WEIGHTS_URL}: "
                   "<urlopen error [Errno -3] Temporary failure in name resolution>"]  # fmt: skip
    assert not weights_installed("googlenet")


def test_fetch_weights_fills_the_cache_the_show_reads(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    calls: list[dict[str, object]] = []

    def download(url: str, model_dir: str, **kwargs: object) -> dict[str, torch.Tensor]:
        calls.append({"url": url, "model_dir": model_dir, **kwargs})
        state = googlenet.DreamGoogLeNet().state_dict()
        Path(model_dir).mkdir(parents=True, exist_ok=True)  # as torch.hub does
        torch.save(state, Path(model_dir) / Path(url).name)
        return state

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", download)
    assert run.main(["fetch-weights", "googlenet"]) == 0
    assert capsys.readouterr().out == f"googlenet weights installed: {googlenet.cached_weights_path()}\n"
    assert calls == [{"url": googlenet.WEIGHTS_URL, "model_dir": str(googlenet.cached_weights_path().parent),
                      "progress": False, "check_hash": True}]  # fmt: skip
    assert run.main(["fetch-weights", "googlenet"]) == 0 and len(calls) == 1  # cached: no second download
    assert "already installed" in capsys.readouterr().out
    assert load_network("googlenet").default_layer == "inception4c"
    assert run.main(["networks", "--network", "googlenet"]) == 0
    assert "googlenet [installed], default layer inception4c" in capsys.readouterr().out


def test_fetch_weights_names(capsys) -> None:
    assert run.main(["fetch-weights", "squeezenet1_1"]) == 0
    assert capsys.readouterr().out == "squeezenet1_1 is embedded: nothing to fetch\n"
    assert run.main(["fetch-weights", "googlenett"]) == 2
    assert "unknown network 'googlenett' (did you mean 'googlenet'?)" in capsys.readouterr().err
    assert run.main(["--help"]) == 0
    assert "fetch-weights" in capsys.readouterr().out
