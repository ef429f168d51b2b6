"""From a timeline to samples: the speech engines (Piper, espeak-ng) and their registry, the
cue sounds, loudness measurement and normalization, the streaming renderer and the music bed.
No device and no clock: the same samples go to the player and to the exporter."""
