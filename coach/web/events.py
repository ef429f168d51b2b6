"""The event stream: server-sent events to every open page.

Threads publish (synthesis and export workers, the live session's subscriber) and each page's
stream reads its own queue on the event loop. A page that stops reading loses the oldest
events rather than holding memory: every event carries a whole state, so the next one heals it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Iterable

# Events a page may lag behind by before the oldest are dropped: a second of progress reports
# from a fast export is about 20.
QUEUE = 64
# A comment line this often keeps proxies and the browser from closing an idle stream.
KEEP_ALIVE_S = 15.0


class Hub:
    """Fans every published event out to every open stream; `publish` is safe from any thread."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue] = set()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self) -> asyncio.Queue:
        """A new stream's queue; called on the event loop."""
        self._loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue(QUEUE)
        with self._lock:
            self._queues.add(queue)
        return queue

    def detach(self, queue: asyncio.Queue) -> None:
        with self._lock:
            self._queues.discard(queue)

    def publish(self, kind: str, data: dict) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # no page has ever listened
        with self._lock:
            queues = list(self._queues)
        for queue in queues:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(_put, queue, (kind, data))


def _put(queue: asyncio.Queue, item: tuple[str, dict]) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(item)


def frame(kind: str, data: dict) -> str:
    """One server-sent event."""
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def stream(hub: Hub, first: Iterable[tuple[str, dict]] = ()) -> AsyncIterator[str]:
    """A page's stream: `first` (what it needs to draw at once), then every event published."""
    queue = hub.attach()
    try:
        for kind, data in first:
            yield frame(kind, data)
        while True:
            try:
                kind, data = await asyncio.wait_for(queue.get(), KEEP_ALIVE_S)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            yield frame(kind, data)
    finally:
        hub.detach(queue)
