"""Shared by the benchmark scripts: where results go, and what machine made them."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import date
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def coach_command() -> list[str]:
    """Run the coach the way a user does, with this interpreter's environment."""
    return [sys.executable, "-m", "coach"]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        cpu = model
    except (OSError, StopIteration):
        pass
    espeak = subprocess.run(
        ["espeak-ng", "--version"], capture_output=True, text=True, check=False
    ).stdout.split("  ")[0]
    return (
        f"{date.today()}, {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{espeak.strip()}"
    )


def save(name: str, title: str, table: list[list[str]], notes: str = "") -> None:
    """Write results/NAME.md as a Markdown table and print it."""
    head, *rows = table
    lines = [f"# {title}", "", f"Measured {machine()}.", ""]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    if notes:
        lines += ["", notes]
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.md").write_text(text)
    print(text)
