"""`coach ARGS` run in this process, through the installed command's own entry point
(`coach.cli.main`, with its one-line errors and exit codes), output captured by click's
CliRunner. A test sees what a user sees, text and exit code, without starting Python again
(0.22-0.29 s a run here, before any work). Tests that need a real process (signals, the script
on PATH, a full disk, memory limits) still start one.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from coach.cli import main


@dataclass(frozen=True)
class Ran:
    """As `subprocess.run` reports it."""

    returncode: int
    stdout: str
    stderr: str


def coach(*args: str, cwd: Path | None = None, **env: str) -> Ran:
    """Run `coach ARGS` in folder `cwd`, with `env` added to the environment."""
    runner = CliRunner()
    with contextlib.chdir(cwd or os.getcwd()), runner.isolation(env=env or None) as (out, err, _):
        try:
            main(list(args))
        except SystemExit as done:  # main always exits, as the command does
            code = done.code
        else:
            raise AssertionError("coach.cli.main returned instead of exiting")
    return Ran(code, out.getvalue().decode(), err.getvalue().decode())
