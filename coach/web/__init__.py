"""`coach serve`: the coach in a browser. The app and its routes (app.py), the guard at its
door (guard.py), what the page sends (form.py), the one session the server runs and its
exports (runner.py), the event stream (events.py), and the page itself (static/)."""
