"""The pad lights in the running app: they follow the status, so every control lights the right pad."""

import shutil
from pathlib import Path

import yaml

from installation.app.app import App
from installation.app.config import LiveConfig
from installation.controls.actions import Action
from installation.controls.bindings import DEFAULT_BINDINGS, load_bindings
from installation.controls.inputs import ControlsConfig

ROOT = Path(__file__).resolve().parents[2]
PAD = "Launchpad Mini MK3:Launchpad Mini MK3 LPMiniMK3 MIDI 1 24:0"


class Port:
    def __init__(self) -> None:
        self.lit: dict[int, int] = {}  # note -> velocity, as the controller would show it
        self.messages = 0

    def send(self, message) -> None:
        self.lit[message.note] = message.velocity
        self.messages += 1

    def close(self) -> None:
        pass


class Backend:
    def __init__(self) -> None:
        self.port = Port()

    def get_output_names(self) -> list[str]:
        return [PAD]

    def open_output(self, name: str) -> Port:
        return self.port


def test_every_control_lights_the_pad_of_the_active_preset(tmp_path, monkeypatch):
    backend = Backend()
    monkeypatch.setattr("installation.controls.midi_out.mido_output_backend", lambda: backend)
    bindings = tmp_path / "bindings.yaml"
    data = load_bindings(DEFAULT_BINDINGS).to_data()
    data["lights"] = {"port": "launchpad", "lit": 21, "presets": {n: 80 + n for n in range(1, 9)},
                      "freeze": {"note": 89, "lit": 5}}  # fmt: skip
    bindings.write_text(yaml.safe_dump(data))
    presets = tmp_path / "presets"
    shutil.copytree(ROOT / "presets", presets)
    now = [1000.0]
    app = App(LiveConfig(source="demo", headless=True, process_size=(64, 36), presets_dir=presets,
                         status_file=tmp_path / "status.json", controls=ControlsConfig(bindings=bindings)),
              clock=lambda: now[0])  # fmt: skip

    def lit_after(*actions: Action) -> list[int]:
        for action in actions:
            app.dispatcher.post(action)
        app.loop.tick()
        return sorted(note for note, velocity in backend.port.lit.items() if velocity)

    try:
        assert lit_after() == [81]  # preset 1 at start
        assert lit_after(Action("select", 3, "keyboard")) == [83]
        assert lit_after(Action("select", "ghost", "osc")) == [87]
        assert lit_after(Action("previous", source="midi")) == [86]
        now[0] += app.programme.duration() + 0.1  # the playlist's timer moves on
        assert lit_after() == [87]
        assert lit_after(Action("freeze", source="web")) == [87, 89]
        sent = backend.port.messages
        assert lit_after() == [87, 89] and backend.port.messages == sent  # nothing changed: nothing sent
    finally:
        app.close()
    assert backend.port.lit[87] == 0 and backend.port.lit[89] == 0  # the show ended: pads dark
