"""`coach serve`: the web app (coach/web) on this computer, its address printed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from coach.errors import CoachError


@click.command(short_help="The coach in a browser, on this computer or from a phone.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="The port to listen on (0: any free one).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to listen on: 0.0.0.0 lets a phone on your network in, with "
    "a secret token in the URL printed.",
)
@click.option(
    "--routines",
    "folder",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder of your own routine files to offer too.",
)
@click.option("--no-browser", is_flag=True, help="Do not open the page in a browser.")
def serve(port, host, folder, no_browser):
    """Serve the coach as a web page: choose and check a routine, see it, play it on this
    computer's speakers with big buttons (from a phone too), export it as a download.

    Only this computer can open it unless --host says otherwise; then every request must
    carry the token in the printed URL. Ctrl-C stops it.
    """
    import webbrowser

    from coach.web.app import create_app
    from coach.web.guard import LOOPBACK_NAMES, new_token
    from coach.web.server import BindError, bind, run, url

    token = None if host in (*LOOPBACK_NAMES, "::1") else new_token()
    try:
        sock = bind(host, port)
    except BindError as e:
        hint = " (is another `coach serve` running? try --port 0)" if port else ""
        raise CoachError(f"{e}{hint}") from None
    app = create_app(token, folder, preferred_voice=os.environ.get("COACH_VOICE") or None)
    address = url(sock, host, token)
    click.echo(f"coach serve: open {address}  (Ctrl-C stops it)")
    if token:
        click.echo("  anyone on your network with this address can steer the coach", err=True)
    sys.stdout.flush()
    if not no_browser and sys.stdout.isatty():
        webbrowser.open(address)
    try:
        run(app, sock)
    except KeyboardInterrupt:  # uvicorn shuts down cleanly, then passes Ctrl-C on: the way out
        click.echo("coach serve: stopped", err=True)
