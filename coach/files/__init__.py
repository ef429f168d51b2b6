"""What a timeline becomes on disk or on screen without playing: the audio export with
chapters and transcript, and the preview formats."""
