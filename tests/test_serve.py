"""`coach serve` at the door: what it binds to, who gets in, and that no input, however bad,
gets a 500 or a traceback. A real server process on a real port, no browser, no sound."""

from __future__ import annotations

import http.client
import json
import random
import time

import pytest
from webserver import Server

from coach.script.routine import MAX_FILE_BYTES

POSTS = ["/api/session", "/api/play", "/api/export", "/api/control/pause", "/api/control/next"]
GETS = ["/", "/api/options", "/api/state", "/static/app.js"]


@pytest.fixture(scope="module")
def local():
    server = Server()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def lan():
    server = Server("--host", "0.0.0.0")
    yield server
    server.stop()


def error_line(data: bytes) -> str:
    """The one line of a refusal (JSON `error`, or plain text), checked to be one line."""
    try:
        text = json.loads(data)["error"]
    except (ValueError, KeyError):
        text = data.decode()
    text = text.strip()
    assert "\n" not in text and "Traceback" not in text, text
    return text


def test_it_listens_on_this_machine_only_and_needs_no_token(local):
    assert local.host() == "127.0.0.1" and local.token is None
    status, page = local.request("/")
    assert status == 200 and b'role="status"' in page
    # A site whose name points at 127.0.0.1 (DNS rebinding) still gets nothing.
    status, data = local.request("/api/state", headers={"Host": f"evil.example:{local.port}"})
    assert status == 403
    assert error_line(data).startswith("forbidden")


@pytest.mark.parametrize("path", ["/", "/api/state", "/api/options", "/static/app.js"])
def test_on_the_network_every_request_needs_the_token(lan, path):
    assert lan.host() != "0.0.0.0" and len(lan.token) >= 20
    assert lan.request(path, token=False)[0] == 403
    wrong = lan.token[:-1] + ("a" if lan.token[-1] != "a" else "b")
    assert lan.request(path, headers={"X-Coach-Token": wrong}, token=False)[0] == 403
    assert lan.request(f"{path}?token={wrong}", token=False)[0] == 403
    assert lan.request(f"{path}?token={lan.token}", token=False)[0] == 200
    assert lan.request(path)[0] == 200


def test_the_page_loaded_with_the_token_lets_its_own_requests_in(lan):
    status, _ = lan.request(f"/?token={lan.token}", token=False)
    assert status == 200
    connection = http.client.HTTPConnection("127.0.0.1", lan.port, timeout=10)
    connection.request("GET", f"/?token={lan.token}")
    response = connection.getresponse()
    response.read()
    cookie = response.getheader("Set-Cookie").split(";")[0]
    assert "HttpOnly" in response.getheader("Set-Cookie")
    connection.request("GET", "/api/state", headers={"Cookie": cookie})
    response = connection.getresponse()
    assert response.status == 200 and json.loads(response.read())["status"] == "idle"
    connection.close()


@pytest.mark.parametrize("server_name", ["local", "lan"])
def test_another_site_is_refused_even_with_the_token(server_name, request):
    server = request.getfixturevalue(server_name)
    for headers in (
        {"Origin": "http://evil.example"},
        {"Origin": f"http://127.0.0.1:{server.port + 1}"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ):
        status, data = server.request("/api/control/stop", b"{}", headers=headers)
        assert status == 403, headers
        assert "another site" in error_line(data)
    same = {"Origin": f"http://127.0.0.1:{server.port}", "Sec-Fetch-Site": "same-origin"}
    assert server.request("/api/state", headers=same)[0] == 200


def test_a_routine_over_the_file_limit_is_413_with_one_line(local):
    text = 'title = "Big"\n' + "#" * MAX_FILE_BYTES
    for path in ("/api/session", "/api/play", "/api/export"):
        status, data = local.request(path, {"text": text, "format": "mp3"})
        assert status == 413, path
        assert error_line(data) == "the routine is over 1 MB, the limit for a routine file"
    # A body too large to be any routine is refused without being read whole.
    status, data = local.request("/api/session", b"[" * (3 * MAX_FILE_BYTES))
    assert status == 413
    # Just under the limit is read, and checked (a comment is no routine).
    status, data = local.request("/api/session", {"text": text[: MAX_FILE_BYTES - 10]})
    assert status == 400
    problems = json.loads(data)["problems"]
    assert problems and all(isinstance(p["line"], int) for p in problems)


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "/etc/passwd", "..\\..\\windows\\win.ini", "quick-relief/../../x",
     "scripts/quick-relief.toml", "~/.bashrc", "", "quick-relief\x00"],
)  # fmt: skip
def test_no_routine_outside_the_list(local, name):
    status, data = local.request("/api/session", {"routine": name})
    assert status == 404
    assert error_line(data).startswith("routine: there is no routine")


@pytest.mark.parametrize(
    "path",
    ["/static/../../../etc/passwd", "/static/..%2F..%2F..%2Fetc%2Fpasswd",
     "/static/%2e%2e/%2e%2e/etc/passwd", "/api/download/..%2F..%2Fetc/passwd",
     "/api/download/x/audio", "/../../etc/passwd"],
)  # fmt: skip
def test_no_file_outside_the_app(local, path):
    connection = http.client.HTTPConnection("127.0.0.1", local.port, timeout=10)
    connection.request("GET", path)  # sent as written: no client-side normalizing
    response = connection.getresponse()
    body = response.read()
    connection.close()
    assert response.status in (400, 404), (path, response.status)
    assert b"root:" not in body


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("minutes", -3, "minutes: give a number over 0"),
        ("minutes", "ten", "minutes: give a number over 0"),
        ("minutes", 10**9, "minutes: give a number over 0"),
        ("rate", 5000, "rate: give whole words a minute from 90 to 300"),
        ("rate", 120.5, "rate: give whole words a minute"),
        ("voice", "/etc/passwd.onnx", "voice: choose one from the list"),
        ("safety", "yes", "safety: true or false"),
        ("text", 7, "routine file: paste or open a routine file first"),
    ],
)
def test_a_bad_field_is_named_in_one_line(local, field, value, says):
    status, data = local.request("/api/session", {"routine": "quick-relief", field: value})
    assert status == 400
    assert error_line(data).startswith(says)


def test_a_bad_format_and_a_control_with_nothing_playing(local):
    status, data = local.request("/api/export", {"routine": "quick-relief", "format": "exe"})
    assert (status, error_line(data)) == (
        400,
        "format: choose one of wav, flac, mp3, ogg, m4a, m4b",
    )
    status, data = local.request("/api/control/pause", b"")
    assert (status, error_line(data)) == (409, "nothing is playing: press Play first")
    status, data = local.request("/api/control/explode", b"")
    assert status == 404


def _random_json(rng: random.Random, depth: int = 0):
    kind = rng.randrange(8 if depth < 2 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1e308, -1e-308, 2**70, 3.5, float("nan"), float("inf")])
    if kind == 3:
        return "".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randrange(12)))
    if kind == 4:
        return rng.choice(["quick-relief", "mp3", "../x", "", "en-us", "\ud800"])
    if kind == 5:
        return rng.randrange(-500, 500)
    if kind == 6:
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["routine", "text", "minutes", "voice", "rate", "safety", "ticks", "format", "x"]
    return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randrange(6))}


def test_fuzz_every_endpoint_never_gets_a_500(local):
    rng = random.Random(18)
    deadline = time.monotonic() + 90
    sent = 0
    for _ in range(25):  # rounds; each sends to every endpoint
        for path in POSTS:
            raw = bytes(rng.randrange(256) for _ in range(rng.randrange(200)))
            fields = json.dumps(_random_json(rng)).encode("utf-8", "surrogatepass")
            for body in (raw, fields):
                status, data = local.request(path, body)
                assert status < 500 and status in (400, 404, 409, 413), (path, body, data)
                error_line(data)
                sent += 1
        for path in GETS:
            junk = "".join(rng.choice("ab%/.?=&;~\\") for _ in range(rng.randrange(12)))
            status, _ = local.request(path + junk)
            assert status < 500, path + junk
            status, _ = local.request(f"/api/download/{junk.strip('/') or 'x'}/audio")
            assert status < 500
        assert time.monotonic() < deadline, f"only {sent} requests in 90 s"
    assert sent == 25 * len(POSTS) * 2


def test_ctrl_c_stops_it_cleanly():
    server = Server()
    assert server.request("/api/state")[0] == 200
    code, stderr = server.stop()
    assert code == 0
    assert stderr.strip() == "coach serve: stopped"


def test_a_port_in_use_is_one_line(local):
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "coach", "serve", "--port", str(local.port), "--no-browser"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith(f"coach: cannot listen on 127.0.0.1 port {local.port}")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_cold_synthesis_reports_its_progress_on_the_event_stream(local):
    # Words no earlier run has said (new each run), so every phrase is synthesized now.
    rng = random.Random(time.time_ns())
    words = [
        " ".join("".join(rng.choice("aeioulmnrst") for _ in range(6)) for _ in range(4))
        for _ in range(3)
    ]
    steps = "".join(
        f'[[steps]]\ntechnique = "effleurage"\narea = "back"\nduration = 30\nsay = "{w}."\n\n'
        for w in words
    )
    text = f'title = "Cold"\nrate = 160\n\n{steps}'
    connection = http.client.HTTPConnection("127.0.0.1", local.port, timeout=30)
    connection.request("GET", "/api/events")
    events = connection.getresponse()
    assert events.getheader("Content-Type").startswith("text/event-stream")
    assert events.readline() == b"event: state\n"  # what a page needs to draw at once
    status, data = local.request("/api/session", {"text": text, "safety": False})
    assert status == 200, data
    seen = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = events.readline().decode()
        if line.startswith("data: ") and '"job":"speech"' in line:
            seen.append(json.loads(line[6:]))
            if seen[-1]["done"] == seen[-1]["total"]:
                break
    connection.close()
    assert seen and seen[-1]["done"] == seen[-1]["total"] >= 3
    assert [p["done"] for p in seen] == sorted(p["done"] for p in seen)


@pytest.mark.realtime
def test_a_cold_routine_plays_at_once_and_the_page_hears_the_speech_still_being_made():
    """Play on an empty cache starts while the rest of the speech is made: the state the page
    draws carries "making" [made, to make], growing, and then none once all is made."""
    from pulse import PulseServer

    sound = PulseServer().start()
    rng = random.Random(time.time_ns())
    say = lambda: " ".join(  # noqa: E731
        "".join(rng.choice("aeioulmnrst") for _ in range(5)) for _ in range(4)
    )
    steps = "".join(
        f'[[steps]]\ntechnique = "effleurage"\narea = "back"\nduration = 60\n'
        f'say = "{". ".join(say() for _ in range(10))}."\n\n'
        for _ in range(30)
    )  # 300 phrases no earlier run has said: seconds of work for espeak-ng (said in 41-43 s
    # a step, which 40 s steps did not always hold)
    server = Server(env=sound.env)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        connection.request("GET", "/api/events")
        events = connection.getresponse()
        status, data = server.request("/api/play", {"text": f'title = "Cold"\n\n{steps}'})
        assert status == 200, data
        states = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = events.readline().decode()
            if line.startswith("data: ") and '"status"' in line:
                states.append(json.loads(line[6:]))
                if states[-1]["status"] == "playing" and states[-1].get("making") is None:
                    break
        connection.close()
        server.request("/api/control/stop", {})
    finally:
        server.stop()
        sound.stop()
    made = [s["making"] for s in states if s.get("making") and s["status"] == "playing"]
    assert made, states[:3]
    assert all(k < n for k, n in made) and [k for k, _ in made] == sorted(k for k, _ in made)
    assert states[-1]["status"] == "playing" and states[-1]["making"] is None
