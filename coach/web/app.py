"""The web app: the page, its API and the event stream, behind the guard (guard.py).

    GET  /                       the page
    GET  /api/options            routines, voices, formats and the limits, for the form
    POST /api/session            check a routine with options: its steps, picture, problems
    POST /api/play               play it live on this computer
    POST /api/control/ACTION     pause, resume, next, back, repeat, louder, softer, stop
    GET  /api/state              the live session's state
    GET  /api/events             server-sent events: state, synthesis and export progress
    POST /api/export             make an audio file; "export" events say when it is ready
    GET  /api/download/JOB/KIND  KIND: audio or transcript

Bad input gets a JSON `{"error": "one line"}` with 400 (404 for a name not offered, 409 for a
control with nothing playing, 413 for too much), never a traceback: routine problems come as
`problems`, one `{line, message}` each, as `coach check` gives them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from coach.errors import CoachError, RoutineError
from coach.files.export import FORMATS
from coach.files.picture import svg
from coach.script.routine import MAX_FILE_BYTES, MAX_HOURS, RATE_RANGE, builtin_routines
from coach.session import SessionSpec
from coach.web import form
from coach.web.events import Hub, stream
from coach.web.form import BadInput
from coach.web.guard import COOKIE, Guard
from coach.web.runner import Runner

STATIC = Path(__file__).with_name("static")


def routine_files(folder: Path | None) -> dict[str, Path]:
    """The routines the page may name: the built-ins, then the user's folder's `*.toml`
    (a name the built-ins have is the built-in)."""
    found = {p.stem: p for p in builtin_routines()}
    if folder is not None:
        for path in sorted(folder.glob("*.toml")):
            found.setdefault(path.stem, path)
    return found


class Api:
    """The routes, over one runner (the live session and the exports) and one event hub.
    `token`: what every request must carry (None: loopback only, no token); `routines`: the
    user's folder of routine files; `preferred_voice`: the user's default voice; `output`:
    where sound goes (None: the default device)."""

    def __init__(self, token: str | None, routines: Path | None, preferred_voice, output):
        self.token = token
        self.hub = Hub()
        self.runner = Runner(self.hub, preferred_voice, output)
        self.files = routine_files(routines)
        self._voices: list[dict] | None = None

    def routes(self) -> list:
        return [
            Route("/", self.index),
            Route("/api/options", self.options),
            Route("/api/session", _answering(self.session), methods=["POST"]),
            Route("/api/play", _answering(self.play), methods=["POST"]),
            Route("/api/control/{action}", _answering(self.control), methods=["POST"]),
            Route("/api/state", self.state),
            Route("/api/events", self.events),
            Route("/api/export", _answering(self.export), methods=["POST"]),
            Route("/api/download/{job}/{kind}", _answering(self.download)),
            Mount("/static", StaticFiles(directory=STATIC)),
        ]

    @contextlib.asynccontextmanager
    async def lifespan(self, app):
        try:
            yield
        finally:  # the session stops and the exports' files go with the server
            await run_in_threadpool(self.runner.close)

    async def voices(self) -> list[dict]:
        """The voices to offer (asking espeak-ng takes a moment: once)."""
        if self._voices is None:
            self._voices = await run_in_threadpool(_voices)
        return self._voices

    async def spec(self, request: Request) -> tuple[dict, SessionSpec]:
        """The request's fields, and the session they ask for."""
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > form.MAX_BODY:
                raise form.too_large()
        data = form.parse(bytes(body))
        names = frozenset(v["name"] for v in await self.voices())
        return data, form.spec(data, self.files, names)

    async def index(self, request: Request) -> Response:
        response = FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})
        if self.token:  # the page's own requests (and the event stream) carry it from now on
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
        return response

    async def options(self, request: Request) -> Response:
        return JSONResponse(
            {
                "routines": await run_in_threadpool(_titled, self.files),
                "voices": await self.voices(),
                "formats": list(FORMATS),
                "rate": list(RATE_RANGE),
                "max_minutes": MAX_HOURS * 60,
                "max_bytes": MAX_FILE_BYTES,
                "state": self.runner.state(),
            }
        )

    async def session(self, request: Request) -> Response:
        _, spec = await self.spec(request)
        return JSONResponse(_summary(await run_in_threadpool(self.runner.prepare, spec)))

    async def play(self, request: Request) -> Response:
        _, spec = await self.spec(request)
        return JSONResponse(await run_in_threadpool(self.runner.play, spec))

    async def control(self, request: Request) -> Response:
        action = request.path_params["action"]
        return JSONResponse(await run_in_threadpool(self.runner.control, action))

    async def state(self, request: Request) -> Response:
        return JSONResponse(self.runner.state())

    async def events(self, request: Request) -> Response:
        return StreamingResponse(
            stream(self.hub, [("state", self.runner.state())]),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def export(self, request: Request) -> Response:
        data, spec = await self.spec(request)
        job = self.runner.export(spec, form.export_format(data))
        return JSONResponse({"job": job}, status_code=202)

    async def download(self, request: Request) -> Response:
        path = self.runner.download(request.path_params["job"], request.path_params["kind"])
        return FileResponse(path, filename=path.name)


def create_app(
    token: str | None = None,
    routines: Path | None = None,
    preferred_voice: str | None = None,
    output=None,
) -> Guard:
    """The app behind its guard (see `Api` for the arguments)."""
    api = Api(token, routines, preferred_voice, output)
    return Guard(Starlette(routes=api.routes(), lifespan=api.lifespan), token)


def _answering(endpoint: Callable) -> Callable:
    """`endpoint` with every problem the user can fix answered as one line of JSON."""

    async def answered(request: Request) -> Response:
        try:
            return await endpoint(request)
        except BadInput as e:
            return JSONResponse({"error": str(e)}, status_code=e.status)
        except RoutineError as e:
            problems = [{"line": p.line, "message": p.message} for p in e.problems]
            return JSONResponse(
                {"error": e.hint or "the routine has problems", "problems": problems},
                status_code=400,
            )
        except CoachError as e:
            return JSONResponse({"error": str(e)}, status_code=400)

    return answered


def _titled(files: dict[str, Path]) -> list[dict]:
    """The routines to offer, each with its title (none for a file that does not load: it is
    still offered, and choosing it shows its problems)."""
    from coach.script.routine import load_routine

    found = []
    for name, path in files.items():
        try:
            found.append({"name": name, "title": load_routine(path).title})
        except CoachError:
            found.append({"name": name, "title": ""})
    return found


def _voices() -> list[dict]:
    from coach.sound.voices import all_voices

    return [{"name": v.name, "language": v.language, "engine": v.engine} for v in all_voices()]


def _summary(session) -> dict:
    """What the page shows of a built session: its steps, notes, warnings and picture."""
    timeline = session.timeline
    rate = timeline.sample_rate
    return {
        "title": timeline.title,
        "duration": timeline.duration / rate,
        "steps": [
            {
                "index": s.index,
                "title": s.title,
                "technique": s.technique,
                "area": s.area,
                "start": s.start / rate,
                "end": s.end / rate,
            }
            for s in timeline.steps
        ],
        "warnings": [str(w) for w in session.warnings],
        "notes": [*session.notes, *timeline.notes],
        "picture": _picture(timeline),
    }


def _picture(timeline) -> str:
    """The session's picture (coach/files/picture.py), always in its dark colours: the page
    is dark whatever the system's mode, and a light picture would light the room. The picture
    follows `prefers-color-scheme` and has no switch of its own, so its dark rules are made
    unconditional here."""
    drawn = svg(timeline)
    return drawn.replace("@media (prefers-color-scheme:dark){", "@media all{", 1)
