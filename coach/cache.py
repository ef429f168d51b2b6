"""The user's cache folder (synthesized speech, normalized clips, measured loudness).

Everything in it can be rebuilt, so a missing or read-only cache only costs time. Files are
written whole or not at all: parallel runs sharing the cache never read half a file.

A cached speech clip also carries its own length and checksum (`store_clip`, `read_clip`): a
file cut short, padded or changed in place is found out and made again, never used. A clip cut
to half its length once passed for a shorter phrase and shifted the whole timeline.
"""

from __future__ import annotations

import os
import struct
import tempfile
import zlib
from pathlib import Path

# magic, number of 16-bit samples, CRC-32 of the samples. CRC-32 (zlib, no numpy) checks the
# ~6 MB of a 20-minute routine's clips in a few milliseconds: a warm preview can afford it.
_CLIP_HEADER = struct.Struct("<4sII")
_CLIP_MAGIC = b"CLP1"


def cache_root(cache_dir: Path | None = None) -> Path:
    """`cache_dir` when given, else the platform's user cache folder (honours XDG_CACHE_HOME)."""
    if cache_dir is not None:
        return Path(cache_dir)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("coach"))


def write_atomically(path: Path, data: bytes, asked: bool = False) -> None:
    """Write via a temp file and rename, so no reader ever sees half a file.

    A cache file gets its folders made and is the user's alone (a temp file's 0600). A file
    the user `asked` for gets the permissions any new file gets (0666 less the umask), and
    no folder: a typo in one is the user's to hear about."""
    if not asked:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        if asked:
            umask = os.umask(0o022)  # read by setting it: there is no other way
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def store(path: Path, data: bytes) -> bool:
    """Keep `data` in the cache at `path` if the cache can take it: a cache folder that is
    read-only, full or not a folder at all only costs the time to redo the work. Says whether
    it was kept."""
    try:
        write_atomically(path, data)
    except OSError:
        return False
    return True


def store_clip(path: Path, pcm: bytes) -> bool:
    """Cache 16-bit samples with their count and checksum, so `read_clip` can vouch for them."""
    header = _CLIP_HEADER.pack(_CLIP_MAGIC, len(pcm) // 2, zlib.crc32(pcm))
    return store(path, header + pcm)


def read_clip(path: Path) -> bytes | None:
    """The samples cached at `path`, or None when there are none or they are not exactly what
    was stored (missing, cut short, grown, or changed)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if len(data) < _CLIP_HEADER.size:
        return None
    magic, samples, crc = _CLIP_HEADER.unpack_from(data)
    pcm = data[_CLIP_HEADER.size :]
    if magic != _CLIP_MAGIC or samples == 0 or len(pcm) != 2 * samples or zlib.crc32(pcm) != crc:
        return None
    return pcm
