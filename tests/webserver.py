"""`coach serve` as a user starts it: a real process on a real port, stopped with Ctrl-C.

Tests talk to it only at 127.0.0.1 (also when it listens on 0.0.0.0), and every request has a
timeout."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

TIMEOUT = 60  # seconds for one request: a cold synthesis of a short routine takes ~10 here


class Server:
    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "coach", "serve", "--port", "0", "--no-browser", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()  # the first line names the address, or it failed
        found = re.search(r"http://(\S+?):(\d+)/(\?token=(\S+))?", line)
        if not found:
            self.proc.kill()
            raise AssertionError(f"no address printed: {line!r} {self.proc.stderr.read()}")
        self.printed = found.group(0)
        self.port = int(found.group(2))
        self.token = found.group(4)
        self.base = f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The page's address at 127.0.0.1, with the token when there is one."""
        return self.base + "/" + (f"?token={self.token}" if self.token else "")

    def request(
        self,
        path: str,
        body: bytes | dict | None = None,
        headers: dict[str, str] | None = None,
        token: bool = True,
    ) -> tuple[int, bytes]:
        """(status, body) of one request; POST when there is a body."""
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        all_headers = dict(headers or {})
        if token and self.token:
            all_headers["X-Coach-Token"] = self.token
        request = urllib.request.Request(self.base + path, data=body, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def json(self, path: str, body: dict | None = None) -> dict:
        status, data = self.request(path, body)
        assert status < 300, (status, data)
        return json.loads(data)

    def stop(self) -> tuple[int, str]:
        """Ctrl-C, as a user stops it: (exit code, stderr)."""
        self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("coach serve did not stop within 15 s of Ctrl-C") from None
        return code, self.proc.stderr.read()

    def host(self) -> str:
        return urlsplit(self.printed).hostname or ""


def wait_for(check, timeout: float, every: float = 0.05):
    """`check()`'s first true value within `timeout` seconds, else AssertionError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"not within {timeout} s")
