"""What the browser journeys share: the people's devices, a journey's browser contexts and numbered screenshots,
signing in, reading a QR code as a phone's camera does, and reading what the server committed."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

from volunteer_registry.extensions import db

from ..conftest import PASSWORD
from .conftest import TIMEOUT_MS

ROOT = Path(__file__).resolve().parents[2]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


class Journey:
    """The people, each with a browser context of their own, and the screenshots taken on the way, numbered in
    ``artifacts`` (emptied of an earlier run's first)."""

    def __init__(self, browser, live_server, artifacts: Path):
        self.browser, self.base, self.artifacts = browser, live_server.url, artifacts
        self.contexts = []
        self.step = 0
        artifacts.mkdir(parents=True, exist_ok=True)
        for old in artifacts.glob("*.png"):
            old.unlink()

    def person(self, device: dict, **options):
        """A new browser context (its own cookies and storage) on ``device``; ``options`` such as a geolocation."""
        context = self.browser.new_context(base_url=self.base, locale="en-US", **device, **options)
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        return context.new_page()

    def shot(self, target, name: str) -> Path:
        """A screenshot of a whole page, or of one element (a locator)."""
        self.step += 1
        path = self.artifacts / f"{self.step:02d}-{name}.png"
        if hasattr(target, "goto"):
            target.screenshot(path=str(path), full_page=True)
        else:
            target.screenshot(path=str(path))
        return path

    def close(self):
        for context in self.contexts:
            context.close()


def sign_in(page, identifier: str) -> None:
    page.goto("/login")
    page.fill("input[name=identifier]", identifier)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))


def decode_qr(image: Path) -> str:
    """What a phone's camera reads: zbarimg on the image, one QR code expected."""
    result = subprocess.run(["zbarimg", "--quiet", "--raw", str(image)], capture_output=True, text=True,
                            timeout=60)
    lines = result.stdout.split()
    assert result.returncode == 0 and len(lines) == 1, (result.returncode, result.stdout, result.stderr)
    return lines[0]


def fresh(query):
    """Rows as the server committed them."""
    db.session.rollback()
    return db.session.execute(query).all()
