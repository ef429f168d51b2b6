# Everything a newcomer needs: `make play` and `make test` install what is missing first.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# System tools the coach runs: speech (espeak-ng), encoding (ffmpeg), the audio output
# (PortAudio) and, for the player's end-to-end tests, a PulseAudio null sink and its recorder.
# A C compiler and CMake build pocketsphinx 5.1.1 where it has no wheel (Python 3.12: 40 s).
# A headless Chromium opens the session's picture and page in the tests (through Playwright,
# whose wheel holds no browser) and takes the screenshots in docs/.
APT_PACKAGES = espeak-ng ffmpeg libportaudio2 pulseaudio pulseaudio-utils build-essential cmake \
	chromium-headless-shell
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system play test bench clean

setup: system $(VENV)/.installed

system:
	@missing=""; \
	for cmd in espeak-ng ffmpeg ffprobe pulseaudio parec cc cmake chromium-headless-shell; do \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$cmd"; done; \
	ldconfig -p 2>/dev/null | grep -q libportaudio.so.2 || missing="$$missing libportaudio2"; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing system packages (missing:$$missing)"; \
	    $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	  else \
	    echo "Please install:$$missing (with your package manager), then run make again."; exit 1; \
	  fi; \
	fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

play: setup
	$(BIN)/coach play classic-back

test: setup
	$(BIN)/ruff check coach tests benchmarks
	$(BIN)/pytest -q

bench: setup
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .venv-* build *.egg-info .pytest_cache .ruff_cache
