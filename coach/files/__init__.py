"""What a timeline becomes on disk or on screen without playing: the audio export with
chapters and transcript, the preview formats, and the picture of the session (an SVG, alone
or in a web page)."""
