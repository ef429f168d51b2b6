"""The one live session `coach serve` runs, the sessions it has built, and its exports.

Every page steers the same `LiveSession`; what it does is published to the event stream, so
two open pages show the same. Synthesis and export run in worker threads and report their
progress there too. Nothing here keeps time: positions are the live session's, read from
the audio clock.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from coach.errors import CoachError, TooShort
from coach.files.export import FORMATS, export
from coach.session import LiveSession, Session, SessionSpec, State, build, sounds
from coach.timeline import Timeline
from coach.web.events import Hub
from coach.web.form import BadInput

ACTIONS = ("pause", "resume", "next", "back", "repeat", "louder", "softer", "stop")
# Built sessions kept for Play and Export after a Check: a few routines' worth of options.
KEEP_SESSIONS = 4
# How often the state is published while a session runs: the page's clocks move this often.
TICK_S = 0.5
# Export progress is published at most this many times over a file (a bar needs no more).
PROGRESS_STEPS = 100


@dataclass(frozen=True)
class Download:
    """A finished export: its folder (removed when the server stops) and files."""

    folder: Path
    audio: Path
    transcript: Path | None


class Runner:
    def __init__(self, hub: Hub, preferred_voice: str | None = None, output=None) -> None:
        self.hub = hub
        self.preferred_voice = preferred_voice
        self.output = output  # None: the default sound device
        self.live = None
        self.timeline: Timeline | None = None
        self.downloads: dict[str, Download] = {}
        self._sessions: OrderedDict[SessionSpec, Session] = OrderedDict()
        self._lock = threading.Lock()  # the live session and the downloads
        self._building = threading.Lock()  # one synthesis at a time: the machine is shared

    def prepare(self, spec: SessionSpec) -> Session:
        """The session for `spec`, built once (with its synthesis progress published)."""
        with self._building:
            found = self._sessions.get(spec)
            if found is not None:
                self._sessions.move_to_end(spec)
                return found

            def progress(done: int, total: int) -> None:
                self.hub.publish("progress", {"job": "speech", "done": done, "total": total})

            session = build(spec, progress, preferred_voice=self.preferred_voice)
            self._sessions[spec] = session
            while len(self._sessions) > KEEP_SESSIONS:
                self._sessions.popitem(last=False)
            return session

    def play(self, spec: SessionSpec) -> dict:
        """Start `spec` live, in place of whatever plays now: on a cold cache at once, the
        rest of its speech made while it plays (not kept: its timeline is not final yet)."""
        with self._building:
            session = self._sessions.get(spec)
        if session is None:
            session = build(spec, preferred_voice=self.preferred_voice, ahead=True)
            if session.making is None:  # every phrase was made: as good as prepared
                session = self.prepare(spec)
        with self._lock:
            if self.live is not None:
                self.live.stop()
                self.live.wait(2)
            live = LiveSession(session, output=self.output)
            # live.timeline: it grows while the rest of the speech is made
            live.subscribe(
                lambda state: self.hub.publish("state", describe(state, live.timeline)),
                every=TICK_S,
            )
            self.live, self.timeline = live, session.timeline
            live.start()
        return self.state()

    def control(self, action: str) -> dict:
        if action not in ACTIONS:
            raise BadInput(f"no such control {action[:20]!r}: {', '.join(ACTIONS)}", 404)
        with self._lock:
            if self.live is None:
                raise BadInput("nothing is playing: press Play first", 409)
            getattr(self.live, action)()
        return self.state()

    def state(self) -> dict:
        with self._lock:
            live, timeline = self.live, self.timeline
        if live is None or timeline is None:
            return {"status": "idle"}
        return describe(live.state, live.timeline)

    def export(self, spec: SessionSpec, fmt: str) -> str:
        """Start exporting `spec` as `fmt`; returns the job's id. Progress and the result come
        as "export" events carrying that id."""
        job = uuid.uuid4().hex
        worker = threading.Thread(target=self._export, args=(job, spec, fmt), daemon=True)
        worker.start()
        return job

    def _export(self, job: str, spec: SessionSpec, fmt: str) -> None:
        folder = Path(tempfile.mkdtemp(prefix="coach-export-"))
        try:
            session = self.prepare(spec)
            clips = sounds(session, FORMATS[fmt].ceiling_dbtp)
            total = session.timeline.duration
            done = 0
            shown = -1

            def progress(samples: int) -> None:
                nonlocal done, shown
                done += samples
                step = min(PROGRESS_STEPS, done * PROGRESS_STEPS // max(1, total))
                if step != shown:  # the peak check encodes again: the bar stays full
                    shown = step
                    self.hub.publish("export", {"job": job, "done": step, "total": 100})

            out = folder / f"{file_stem(session)}.{fmt}"
            written = export(
                session.timeline, clips, out, fmt, "vtt", spec.level, progress=progress
            )
        except CoachError as e:
            shutil.rmtree(folder, ignore_errors=True)
            self.hub.publish("export", {"job": job, "error": str(e)})
            return
        transcript = written[1] if len(written) > 1 else None
        with self._lock:
            self.downloads[job] = Download(folder, written[0], transcript)
        self.hub.publish(
            "export",
            {
                "job": job,
                "finished": True,
                "audio": written[0].name,
                "transcript": bool(transcript),
            },
        )

    def download(self, job: str, kind: str) -> Path:
        with self._lock:
            found = self.downloads.get(job)
        files = {} if found is None else {"audio": found.audio, "transcript": found.transcript}
        path = files.get(kind)
        if path is None:
            raise BadInput("no such export: export it again", 404)
        return path

    def close(self) -> None:
        """Stop the session and remove every export's files."""
        with self._lock:
            live, self.live = self.live, None
            downloads, self.downloads = self.downloads, {}
        if live is not None:
            live.stop()
            live.wait(2)
        for download in downloads.values():
            shutil.rmtree(download.folder, ignore_errors=True)


def describe(state: State, timeline: Timeline) -> dict:
    """A live session's state for the page (times in seconds on the audio clock), with the
    step's technique and area."""
    step = next((s for s in timeline.steps if s.index == state.step), None)
    return {
        "status": state.status,
        "step": state.step,
        "step_title": state.step_title,
        "technique": step.technique if step else "",
        "area": step.area if step else "",
        "position": state.position,
        "step_left": state.step_left,
        "session_left": state.session_left,
        "next_title": state.next_title,
        "caught_up": state.caught_up,
        "volume_db": state.volume_db,
        "error": _worded(state.error) if state.error else None,
        "making": state.making,  # [made, to make] while speech is still made, else null
        "held": state.held,  # waiting in silence at a step boundary for it
    }


def _worded(error: BaseException) -> str:
    """A session's failure in one line for the page: a length too short for the voice (found
    once its speech, made while playing, ran long) says the length that fits, in the form's
    own words."""
    if isinstance(error, TooShort):
        asked = f"{error.minutes:g} minutes is" if error.minutes else "its own length is"
        return (
            f"{asked} too short for this routine at this voice and rate: "
            f"try {error.shortest_minutes} minutes"
        )
    return str(error)


def file_stem(session: Session) -> str:
    """A download's name: the routine's title, as letters, digits and dashes."""
    stem = re.sub(r"[^A-Za-z0-9]+", "-", session.timeline.title).strip("-").lower()
    return stem[:60] or "guide"
