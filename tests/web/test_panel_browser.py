"""The panel in a real browser (Debian's chromium + chromium-driver via Selenium) on a real show.

The show runs windowed on a bare Xvfb server (a blackout needs a window to black out),
dreaming the demo source; the test taps, slides and presses like a technician and reads
the status file the show writes, not the page, to see each change land.
Set PANEL_SCREENSHOT=docs/panel.png to refresh the README's screenshot.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from installation.testing.ports import free_port
from installation.testing.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
MISSING = [name for name, found in (("chromium", CHROMIUM), ("chromium-driver", DRIVER),
                                    ("Xvfb", shutil.which("Xvfb"))) if not found]  # fmt: skip
try:
    import selenium  # noqa: F401
except ImportError:
    MISSING.append("selenium (pip)")
if MISSING:
    print(f"browser tests skipped: missing {', '.join(MISSING)} (make system installs them)")

pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"needs {', '.join(MISSING)} (apt-get install -y chromium "
                                "chromium-driver xvfb; pip install -r requirements-dev.txt)")  # fmt: skip



def read_status(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


@pytest.fixture
def running_show(tmp_path):
    """(panel URL, status file): the installation on Xvfb with --web-port, closed after the test."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x720x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stderr=subprocess.DEVNULL)  # fmt: skip
    os.close(write)
    with os.fdopen(read) as pipe:
        display = pipe.readline().strip()
    env = {**os.environ, "DISPLAY": f":{display}", "DREAMWALL_STATE_DIR": str(tmp_path / "state")}
    env.pop("SDL_VIDEODRIVER", None)
    port, status = free_port(), tmp_path / "status.json"
    log = (tmp_path / "show.log").open("w")
    show = subprocess.Popen([sys.executable, "run.py", "live", "--source", "demo", "--windowed", "--size", "640x360",
                             "--no-midi", "--web-port", str(port), "--status-file", str(status)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for(lambda: show.poll() is not None or read_status(status).get("fps", {}).get("dream"), "the first dream",
                 timeout=120)  # fmt: skip
        assert show.poll() is None, (tmp_path / "show.log").read_text()
        yield url, status
    finally:
        show.terminate()
        show.wait(30)
        xvfb.terminate()
        xvfb.wait(10)
        log.close()


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    flags = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1100,1000")
    for flag in flags:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


THUMB = """const b = document.querySelector(`#presets button[data-preset="${arguments[0]}"] img`);
return !!b && !b.hidden && b.complete && b.naturalWidth === 160;"""
PIXELS = """const img = document.getElementById('preview'); if (!img.naturalWidth) return null;
const c = document.createElement('canvas'); c.width = 32; c.height = 18;
const g = c.getContext('2d'); g.drawImage(img, 0, 0, 32, 18);
return Array.from(g.getImageData(0, 0, 32, 18).data).join(',');"""


def test_a_technician_watches_switches_slides_and_blacks_out(running_show, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, status = running_show
    browser.get(url)
    first = wait_for(lambda: browser.execute_script(PIXELS), "the preview's first frame")
    wait_for(lambda: browser.execute_script(PIXELS) not in (None, first), "the preview to change")

    buttons = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#presets button"), "the preset grid")
    showing = read_status(status)["preset"]
    wait_for(lambda: browser.execute_script(THUMB, showing), f"a thumbnail of {showing} once it settled")
    target = next(b for b in buttons if b.text != read_status(status)["preset"])
    name = target.text
    target.click()
    wait_for(lambda: read_status(status).get("preset") == name, f"the status file to show preset {name}")
    wait_for(lambda: browser.find_element(By.ID, "preset").text == name, "the page to follow")

    slider = browser.find_element(By.ID, "intensity")
    slider.send_keys(Keys.END)  # all the way up: a change event, as a thumb let go
    wait_for(lambda: read_status(status).get("intensity") == 1.0, "intensity 1.0 in the status file")

    wait_for(lambda: "dream fps" in browser.find_element(By.ID, "health").text, "the health list")
    shot = os.environ.get("PANEL_SCREENSHOT")
    if shot:
        browser.save_screenshot(str(ROOT / shot))
        browser.set_window_size(375, 900)  # a phone: one column, nothing cut off
        browser.save_screenshot(str(ROOT / shot).replace(".png", "-phone.png"))
        browser.set_window_size(1100, 1000)

    browser.find_element(By.ID, "blackout").click()
    wait_for(lambda: read_status(status).get("blackout") is True, "blackout in the status file")
    wait_for(lambda: "on" in browser.find_element(By.ID, "blackout").get_attribute("class"), "the button to light")
