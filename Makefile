# The two set-up commands of the README: `make run` and `make test`.
# Both create .venv when missing and install the pinned dependencies into it.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench venv clean system

# Debian packages the tests use: Xvfb (+ xwininfo) for the real-window test on a bare X server,
# chromium + chromium-driver for the web panel's browser tests (Selenium).
# Idempotent (checked every time, installed only when missing); where apt cannot install them
# (no root, offline) that test is skipped and says so.

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt requirements-ray.txt requirements-ndi.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-ndi.txt  # optional for a show; the NDI tests need it
	touch $(STAMP)

run: $(STAMP)
	$(PY) run.py

system:
	@if command -v Xvfb >/dev/null && command -v xwininfo >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xvfb x11-utils >/dev/null) \
		|| echo "warning: could not install xvfb/x11-utils; the bare-X-server window test will be skipped"; \
	else echo "warning: xvfb/x11-utils missing and not root; the bare-X-server window test will be skipped"; fi
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
		|| echo "warning: could not install chromium/chromium-driver; the web panel's browser tests will be skipped"; \
	else echo "warning: chromium/chromium-driver missing and not root; the web panel's browser tests will be skipped"; fi

test: $(STAMP) system
	$(PY) -m ruff check .
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check .

bench: $(STAMP)
	$(PY) run.py bench

clean:
	rm -rf $(VENV) .pytest_cache out
