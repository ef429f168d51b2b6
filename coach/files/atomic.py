"""Files written atomically: into a hidden `.NAME.partial-PID` beside the target, moved into
place with `os.replace` only once complete. One that fails, is interrupted or is terminated
removes its partial file; one that is SIGKILLed leaves it behind, and the next write into that
folder removes it once its PID is dead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from coach.errors import Terminated


def partial_name(target: Path, pid: int) -> Path:
    return target.with_name(f".{target.name}.partial-{pid}")


@contextlib.contextmanager
def partial(target: Path) -> Iterator[Path]:
    """A hidden file beside `target` to write into; removed unless it was moved into place."""
    partial = partial_name(target, os.getpid())
    try:
        yield partial
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


def remove_stale_partials(target: Path) -> None:
    """Remove partial files of `target` left by exports that were killed (their PID is dead)."""
    prefix = f".{target.name}.partial-"
    for path in target.parent.glob(f".{_glob_escape(target.name)}.partial-*"):
        pid = path.name[len(prefix) :]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _glob_escape(name: str) -> str:
    return "".join(f"[{ch}]" if ch in "*?[" else ch for ch in name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


@contextlib.contextmanager
def stop_between_blocks() -> Iterator[Callable[[], None]]:
    """Ctrl-C and SIGTERM while exporting, raised where the export can stop cleanly: their
    handlers only note them, and the `check()` yielded raises KeyboardInterrupt or
    Terminated from then on, called by the export between blocks. Raised from a handler, the
    exception surfaced wherever Python happened to be, inside PyAV's encoder too, which lost
    it about 1 run in 35 (the export then ran on to its end) or was left half set up."""
    seen: list[int] = []

    def check() -> None:
        if seen and seen[0] == signal.SIGINT:
            raise KeyboardInterrupt
        if seen:
            raise Terminated("export terminated: nothing was written")

    if threading.current_thread() is not threading.main_thread():
        yield check  # only the main thread may set a handler; the signals stay as they are
        return
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is not signal.SIG_IGN:  # ignored (a background job) stays so
            previous[sig] = signal.signal(sig, lambda signum, frame: seen.append(signum))
    try:
        yield check
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
