"""How a live session is steered: every control (keyboard, foot pedal, voice) puts `Action`s on
one queue, and the player's loop takes them off in order. A control knows nothing of the
player; the player knows nothing of where an action came from, except whether to acknowledge
it with a soft tone (a spoken command gets one, a key press does not: the finger felt it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

# What a control may ask for. "pause" toggles (one key for both); "hold" and "resume" only
# pause or only resume, so a repeated "pause" never undoes itself.
ACTIONS = ("pause", "hold", "resume", "next", "back", "repeat", "louder", "softer", "quit")
# What a key may be bound to: one key toggles the pause, so "hold" and "resume" get none.
KEY_ACTIONS = tuple(a for a in ACTIONS if a not in ("hold", "resume"))


# Not an action: a line a control has for the user (what the voice heard), shown as it comes.
NOTE = "note"


@dataclass(frozen=True)
class Action:
    name: str  # one of ACTIONS, or NOTE
    acknowledge: bool = False  # sound the acknowledgement tone when it is taken
    note: str = ""  # the line, for NOTE


class Control(Protocol):
    help: str  # a short line for the status block ("" to show nothing)

    def start(self, put: Callable[[Action], None], sounding: Callable[[], bool]) -> None:
        """Begin putting actions; `sounding()` is True while the coach's own sound is in the
        room (a microphone hears it too). Raises `ControlUnavailable` when it cannot run."""
        ...

    def stop(self) -> None: ...
