"""Regenerate docs/picture-light.png and docs/picture-dark.png: the picture of classic-back
(`coach preview classic-back --format svg`, default voice) as headless Chromium shows it.

    .venv/bin/python tools/screenshots.py

Needs Debian's chromium-headless-shell (`make test` installs it). Dark mode is Blink's
`preferredColorScheme=0`: `--force-dark-mode` (Chromium 156) leaves prefers-color-scheme
light.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"
CHROMIUM = "chromium-headless-shell"
SCALE = 2  # pixels per px: stays sharp where the README shows it narrower than 1200 px


def main() -> None:
    picture = subprocess.run(
        [sys.executable, "-m", "coach", "preview", "classic-back", "--format", "svg"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    width, height = (int(v) for v in re.search(r'width="(\d+)" height="(\d+)"', picture).groups())
    with tempfile.TemporaryDirectory() as folder:
        svg = Path(folder) / "classic-back.svg"
        svg.write_text(picture, encoding="utf-8")
        for mode, scheme in (("light", "1"), ("dark", "0")):
            out = DOCS / f"picture-{mode}.png"
            subprocess.run(
                [
                    CHROMIUM,
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--hide-scrollbars",
                    f"--force-device-scale-factor={SCALE}",
                    f"--blink-settings=preferredColorScheme={scheme}",
                    f"--window-size={width},{height}",
                    f"--screenshot={out}",
                    svg.as_uri(),
                ],
                check=True,
                capture_output=True,
                timeout=120,
            )
            print(f"wrote {out}")


if __name__ == "__main__":
    main()
