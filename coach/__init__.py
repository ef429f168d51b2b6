"""coach: a voice-guided audio coach for back massage."""

__version__ = "0.1.0"
