"""Keyboard controls for `coach play`: key names, the configurable key map, and a terminal
reader that leaves the terminal as it found it.

A USB foot pedal is a keyboard: it sends ordinary keys (often Page Up / Page Down, arrows or
letters), so binding an action to a named key is all a pedal needs.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import termios
import threading
import tty
from collections.abc import Callable

from coach.errors import BadKeys
from coach.live.controls import KEY_ACTIONS, Action

# Names for keys that are not one printable character, as terminals send them.
NAMED_KEYS = {
    "SPACE": " ",
    "ENTER": "\r",
    "TAB": "\t",
    "BACKSPACE": "\x7f",
    "UP": "\x1b[A",
    "DOWN": "\x1b[B",
    "RIGHT": "\x1b[C",
    "LEFT": "\x1b[D",
    "HOME": "\x1b[H",
    "END": "\x1b[F",
    "INSERT": "\x1b[2~",
    "DELETE": "\x1b[3~",
    "PAGEUP": "\x1b[5~",
    "PAGEDOWN": "\x1b[6~",
    **{f"F{n}": f"\x1b[{code}~" for n, code in ((5, 15), (6, 17), (7, 18), (8, 19))},
}

DEFAULT_KEYS = {
    " ": "pause",
    "n": "next",
    NAMED_KEYS["RIGHT"]: "next",
    "b": "back",
    NAMED_KEYS["LEFT"]: "back",
    "r": "repeat",
    "+": "louder",
    "=": "louder",  # + without shift
    "-": "softer",
    "q": "quit",
}


def key_name(code: str) -> str:
    """How a key is shown: its name, or itself."""
    for name, named in NAMED_KEYS.items():
        if named == code:
            return name.capitalize() if len(name) <= 5 else name
    return code


def keys_help(keymap: dict[str, str]) -> str:
    """One short line naming the keys of each action, e.g. "n/Right next  q quit"."""
    parts = []
    for action in KEY_ACTIONS:
        codes = [key_name(k) for k, a in keymap.items() if a == action]
        if codes:
            parts.append(f"{'/'.join(codes)} {action}")
    return "  ".join(parts)


def key_code(name: str, entry: str = "") -> str:
    """What the terminal sends for a key given by name (`PAGEDOWN`, `SPACE`) or as itself (`x`);
    BadKeys naming the key map `entry` it came from when it is neither."""
    if len(name) == 1:
        return name
    code = NAMED_KEYS.get(name.upper())
    if code is None:
        raise BadKeys(entry or name, KEY_ACTIONS, key=name, named=tuple(NAMED_KEYS))
    return code


def parse_keymap(spec: str | None) -> dict[str, str]:
    """The default key map changed by `ACTION=KEY,ACTION=KEY,...`.

    Naming an action replaces its default keys (repeat the action to bind several keys);
    a key bound to a new action leaves its old one.
    """
    keymap = dict(DEFAULT_KEYS)
    if not spec:
        return keymap
    rebound: set[str] = set()
    for item in spec.split(","):
        action, sep, key = item.strip().partition("=")
        action = action.strip().lower()
        if not sep or action not in KEY_ACTIONS or not key:
            raise BadKeys(item.strip(), KEY_ACTIONS)
        if action not in rebound:
            rebound.add(action)
            keymap = {k: a for k, a in keymap.items() if a != action}
        keymap[key_code(key.strip(), item.strip())] = action
    return keymap


def split_keys(data: str) -> list[str]:
    """Split terminal input into keys, keeping each escape sequence whole.

    `ESC O x` (application cursor mode) is read as `ESC [ x`, so arrows work in either mode.
    """
    keys = []
    i = 0
    while i < len(data):
        if data[i] == "\x1b" and data[i + 1 : i + 2] in ("[", "O"):
            j = i + 2
            while j < len(data) and not (data[j].isalpha() or data[j] == "~"):
                j += 1
            keys.append("\x1b[" + data[i + 2 : j + 1])
            i = j + 1
        else:
            keys.append(data[i])
            i += 1
    return keys


class Keyboard:
    """A control reading keys from the terminal in cbreak mode (no echo, no line buffering;
    Ctrl-C still interrupts). Inactive, reading nothing, when stdin is not a terminal.
    """

    def __init__(self, keymap: dict[str, str], enabled: bool = True, stream=None) -> None:
        self.keymap = keymap
        stream = sys.stdin if stream is None else stream
        self.fd = stream.fileno() if enabled and stream.isatty() else None
        self.help = keys_help(keymap) if self.fd is not None else ""
        self._saved = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self.fd is not None

    def start(self, put: Callable[[Action], None], sounding: Callable[[], bool]) -> None:
        if self.fd is None:
            return
        self._saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd)
        self._stopping.clear()
        self._thread = threading.Thread(target=self._read, args=(put,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(1)
            self._thread = None
        if self._saved is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
            self._saved = None

    def _read(self, put: Callable[[Action], None]) -> None:
        # A short select timeout so stop() is noticed; a key is read the moment it arrives.
        while not self._stopping.is_set():
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self.fd, 256).decode("utf-8", errors="replace")
            except OSError:  # the terminal went away
                return
            for key in split_keys(data):
                action = self.keymap.get(key) or self.keymap.get(key.lower())
                if action:
                    put(Action(action))
