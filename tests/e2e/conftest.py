"""Journeys in a real browser: Debian's Chromium driven by Playwright, against the app served on loopback.

The database is the suite's (tests/conftest.py): a SQLite file in the test's folder, or the PostgreSQL server named
by TEST_DATABASE_URL, so these tests run on both. The browser is the system's /usr/bin/chromium (``playwright
install`` is never run); without it, or without the playwright module, the tests are skipped and say why.
"""
from __future__ import annotations

import importlib.util
import os
import threading

import pytest
from werkzeug.serving import make_server

from ..conftest import build_app, serve

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
TIMEOUT_MS = 15_000  # every wait in the browser


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session; each test gets a fresh context (cookies, storage, service workers).

    A missing browser or driver fails the journey instead of skipping it: `./manage setup` installs both, so a green
    run must mean the browser journeys ran."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (./manage setup does)")
    if importlib.util.find_spec("playwright") is None:
        pytest.fail("the playwright module is missing: pip install -r requirements.txt (./manage setup does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                              timeout=TIMEOUT_MS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def app(tmp_path):
    """The test app with CSRF protection on, as in production: the browser must use the pages' real tokens."""
    yield from serve(build_app(tmp_path, WTF_CSRF_ENABLED=True, SERVER_NAME=None))


class LiveServer:
    """``app`` served by werkzeug on 127.0.0.1 (a random port) in a daemon thread; records what it was asked."""

    def __init__(self, app):
        self.requests: list[tuple[str, str]] = []
        self._server = make_server("127.0.0.1", 0, self._recording(app), threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        app.config["PUBLIC_URL"] = self.url  # as ./manage serve does: links that leave the app (QR codes) work
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-server", daemon=True)
        self._thread.start()

    def _recording(self, app):
        def wsgi(environ, start_response):
            self.requests.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
            # The body is read (and the response closed) here: when the browser hangs up mid-response, as it does
            # on going offline, werkzeug's dev server skips close() and a static file would be left open (a
            # ResourceWarning, so an error in this suite).
            response = app(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                if hasattr(response, "close"):
                    response.close()
        return wsgi

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=15)


@pytest.fixture
def live_server(app):
    server = LiveServer(app)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def context(browser, live_server):
    """A fresh browser profile (English, so the page's words are known) for one test, closed before the server."""
    context = browser.new_context(base_url=live_server.url, locale="en-US", service_workers="allow")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(context):
    return context.new_page()
