# Everything a newcomer needs: `make play` and `make test` install what is missing first.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# The coach itself installs from wheels alone (`pip install .`): PyAV carries FFmpeg, piper-tts
# its own phonemizer. System packages only for what still needs them. `make play`: PortAudio
# for live sound on Linux (sounddevice bundles it on macOS and Windows). `make test` adds a
# PulseAudio null sink and its recorder (real-time tests), ffmpeg as an independent reader of
# exported files, espeak-ng (its voices' tests), a headless Chromium for the page tests and
# the screenshots (through Playwright, whose wheel holds no browser), and a C compiler with
# CMake to build pocketsphinx 5.1.1 on Python 3.12, which has no wheel of it (40 s).
PLAY_PACKAGES = libportaudio2
TEST_PACKAGES = $(PLAY_PACKAGES) pulseaudio pulseaudio-utils ffmpeg espeak-ng build-essential cmake \
	chromium-headless-shell
TEST_COMMANDS = pulseaudio parec ffmpeg ffprobe espeak-ng cc cmake chromium-headless-shell
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup setup-test system-play system-test play test test-fast bench clean

setup: system-play $(VENV)/.installed
setup-test: system-test $(VENV)/.installed $(VENV)/.listen

# $(call install,COMMANDS,PACKAGES): apt-get install PACKAGES when a command or PortAudio is missing.
define install
	@missing=""; \
	for cmd in $(1); do command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$cmd"; done; \
	ldconfig -p 2>/dev/null | grep -q libportaudio.so.2 || missing="$$missing libportaudio2"; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing system packages (missing:$$missing)"; \
	    $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(2) >/dev/null; \
	  else \
	    echo "Please install:$$missing (with your package manager), then run make again."; exit 1; \
	  fi; \
	fi
endef

system-play:
	$(call install,,$(PLAY_PACKAGES))

system-test:
	$(call install,$(TEST_COMMANDS),$(TEST_PACKAGES))

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# Voice commands on Python 3.12, for the tests: pocketsphinx 5.1.1 has no wheel there, so it
# is built (the coach itself installs without it and `--listen` says how to add it).
$(VENV)/.listen: $(VENV)/.installed
	if $(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; then \
	  $(BIN)/pip install -q 'pocketsphinx>=5.1.1'; fi
	touch $@

play: setup
	$(BIN)/coach play classic-back

# The tests that need no real-time sound on every core (a file's tests stay on one worker, so
# each module's fixtures are made once), then the real-time ones alone: under load from other
# tests their sound would drop out.
test: setup-test
	$(BIN)/ruff check coach tests benchmarks
	$(BIN)/pytest -q -m "not realtime" -n auto --dist loadfile
	$(BIN)/pytest -q -m realtime

# Everything but the tests that play through PulseAudio in real time (marked `realtime`) and
# those that encode or synthesize whole sessions (`slow`): `make test` runs those too.
test-fast: setup-test
	$(BIN)/ruff check coach tests benchmarks
	$(BIN)/pytest -q -m "not realtime and not slow" -n auto --dist loadfile

bench: setup-test
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .venv-* build *.egg-info .pytest_cache .ruff_cache
