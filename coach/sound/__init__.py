"""From a timeline to samples: the speech engines (Piper, espeak-ng) and their registry, the
cue sounds, loudness measurement and normalization, the streaming renderer and the music bed.
No device and no clock: the same samples go to the player and to the exporter."""

# Spoken word, mono: -19 LUFS integrated (the usual podcast target; -16 is for stereo). Here,
# not in render.py, so the command line shows it without loading numpy (130 ms a start).
DEFAULT_LOUDNESS = -19.0
