# Everything a newcomer needs: `make play` and `make test` install what is missing first.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# The coach itself installs from wheels alone (`pip install .`): PyAV carries FFmpeg, piper-tts
# its own phonemizer. System packages only for what still needs them: PortAudio for live play
# on Linux (sounddevice bundles it on macOS and Windows); for the tests, a PulseAudio null sink
# and its recorder (real-time tests), ffmpeg as an independent reader of exported files, and
# espeak-ng (its voices' tests); a C compiler and CMake build pocketsphinx 5.1.1 on Python
# 3.12, which has no wheel of it (40 s), so the voice tests run there too.
APT_PACKAGES = libportaudio2 pulseaudio pulseaudio-utils ffmpeg espeak-ng build-essential cmake
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system play test bench clean

setup: system $(VENV)/.installed

system:
	@missing=""; \
	for cmd in espeak-ng ffmpeg ffprobe pulseaudio parec cc cmake; do \
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
	if $(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; then \
	  $(BIN)/pip install -q 'pocketsphinx>=5.1.1'; fi
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
