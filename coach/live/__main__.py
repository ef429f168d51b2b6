"""The voice control's worker process (`python -m coach.live`, started by
coach.live.listen.Listener): pocketsphinx holds the interpreter while it decodes, so hearing
runs here, out of the player's process.

On stdin: the coach's own words (4-byte length, then JSON), then frames (PCM plus one byte:
is the coach sounding). On stdout: "ready" once the decoders are built, then a line for each
utterance heard ("heard" and what came of it) and each command ("action" and its action).
"""

from __future__ import annotations

import json
import sys

from coach.live.controls import Action
from coach.live.hearing import FRAME, Hearing
from coach.live.listen import READY


def main() -> None:
    stdin, stdout = sys.stdin.buffer, sys.stdout
    size = int.from_bytes(stdin.read(4), "little")
    hearing = Hearing(json.loads(stdin.read(size)))
    stdout.write(READY.decode())  # the listener opens the microphone only now
    stdout.flush()

    def frames():
        while len(data := stdin.read(FRAME * 2 + 1)) == FRAME * 2 + 1:
            yield data[:-1], data[-1:] == b"\1"

    def put(action: Action) -> None:
        print("action", action.name, file=stdout, flush=True)

    def report(line: str) -> None:
        print("heard", line, file=stdout, flush=True)

    hearing.run(frames(), put, report)


if __name__ == "__main__":
    main()
