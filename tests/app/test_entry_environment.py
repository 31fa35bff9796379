"""run.py sets the optional environment defaults, once, before any command imports pygame."""

import os
import subprocess
import sys
from pathlib import Path

import run

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_set_unless_the_caller_chose(monkeypatch):
    monkeypatch.delenv("PYGAME_HIDE_SUPPORT_PROMPT", raising=False)
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    run.apply_environment_defaults()
    assert os.environ["PYGAME_HIDE_SUPPORT_PROMPT"] == "1"
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(ROOT / "cache" / "inductor")  # beside the app's builds
    monkeypatch.setenv("PYGAME_HIDE_SUPPORT_PROMPT", "")
    run.apply_environment_defaults()
    assert os.environ["PYGAME_HIDE_SUPPORT_PROMPT"] == ""


def test_no_pygame_banner_when_a_command_imports_the_display():
    env = {key: value for key, value in os.environ.items() if key != "PYGAME_HIDE_SUPPORT_PROMPT"}
    code = "import run; run.apply_environment_defaults(); import installation.display.renderer; print('ok')"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"
