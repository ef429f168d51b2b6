"""The user's cache folder (synthesized speech, normalized clips, measured loudness).

Everything in it can be rebuilt, so a missing or read-only cache only costs time. Files are
written whole or not at all: parallel runs sharing the cache never read half a file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def cache_root(cache_dir: Path | None = None) -> Path:
    """`cache_dir` when given, else the platform's user cache folder (honours XDG_CACHE_HOME)."""
    if cache_dir is not None:
        return Path(cache_dir)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("coach"))


def write_atomically(path: Path, data: bytes) -> None:
    """Write via a temp file and rename, so no reader ever sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def store(path: Path, data: bytes) -> None:
    """Keep `data` in the cache at `path` if the cache can take it: a cache folder that is
    read-only, full or not a folder at all only costs the time to redo the work."""
    with contextlib.suppress(OSError):
        write_atomically(path, data)
