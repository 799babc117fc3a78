"""A volunteer who uses only the keyboard: from the home page, sign in, find an activity and sign up, with Tab,
Shift+Tab, typing, Enter and Space; no click, and no address typed after the first page. Every element the focus
stops on must show where the focus is (an outline or a box shadow), or a keyboard user is lost."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from volunteer_registry.activities.models import Signup
from volunteer_registry.extensions import db
from volunteer_registry.models import utcnow

from ..conftest import PASSWORD

pytestmark = pytest.mark.slow  # a live server and a browser

MAX_STOPS = 60  # Tab presses to reach an element before the test gives up: more is a page nobody can use

#: what the focused element is, and whether a sighted keyboard user can see it is focused
FOCUSED = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0
                    && style.outlineColor !== "rgba(0, 0, 0, 0)" && style.outlineColor !== "transparent";
    const shadow = style.boxShadow !== "none";
    const field = ["input", "select", "textarea"].includes(el.tagName.toLowerCase());
    const label = (el.getAttribute("aria-label") || (field ? el.name : el.innerText.split("\\n")[0]) || "").trim();
    return {tag: el.tagName.toLowerCase(), label: label.slice(0, 60), name: el.getAttribute("name"),
            href: el.getAttribute("href"), visible_focus: outline || shadow,
            style: `outline: ${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}; `
                   + `box-shadow: ${style.boxShadow}`};
}"""


class Keyboard:
    """Moves the focus with Tab or Shift+Tab and records every stop; each must show a focus indicator."""

    def __init__(self, page):
        self.page = page
        self.stops: list[dict] = []

    def move_to(self, wanted, *, backwards: bool = False) -> dict:
        """Press Tab (Shift+Tab) until ``wanted(focused)`` is true; fails on a stop without a visible focus, on
        the focus leaving the page, or after MAX_STOPS presses."""
        key = "Shift+Tab" if backwards else "Tab"
        for _ in range(MAX_STOPS):
            self.page.keyboard.press(key)
            focused = self.page.evaluate(FOCUSED)
            focused["url"] = self.page.url
            self.stops.append(focused)
            assert focused["tag"] != "body", f"the focus left the page on {self.page.url}: {self.trail()}"
            assert focused["visible_focus"], f"no visible focus on {focused}"
            if wanted(focused):
                return focused
        raise AssertionError(f"not reached with {MAX_STOPS} × {key} on {self.page.url}: {self.trail()}")

    def trail(self) -> str:
        return " → ".join(f"{s['tag']}:{s['label']}" for s in self.stops[-MAX_STOPS:])


def link(text: str):
    return lambda focused: focused["tag"] == "a" and focused["label"] == text


@pytest.fixture
def scene(make):
    """A volunteer with a profile, and an activity two days from now open to sign-ups."""
    volunteer = make.volunteer(name="卓玛")
    activity = make.activity(title="湟水河岸清洁", starts_at=utcnow() + dt.timedelta(days=2),
                             ends_at=utcnow() + dt.timedelta(days=2, hours=3))
    db.session.commit()
    return {"email": make.account_of(volunteer).email, "volunteer_id": volunteer.id, "activity_id": activity.id,
            "code": activity.code, "title": activity.title}


def signups() -> list[tuple[int, int, str]]:
    """(activity, volunteer, status) of every sign-up the server committed."""
    db.session.rollback()
    rows = db.session.execute(sa.select(Signup.activity_id, Signup.volunteer_id, Signup.status)).all()
    db.session.rollback()
    return [tuple(row) for row in rows]


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}, {"width": 1280, "height": 800}],
                         ids=["phone", "desktop"])
def test_a_volunteer_signs_in_and_signs_up_with_the_keyboard_alone(page, scene, viewport):
    page.set_viewport_size(viewport)
    keys = Keyboard(page)
    page.goto("/")  # the only address typed

    # the skip link comes first, and shows itself when focused
    skip = keys.move_to(lambda f: True)
    assert (skip["tag"], skip["href"]) == ("a", "#main")
    assert page.locator("a.skip").bounding_box()["x"] >= 0

    keys.move_to(link("Sign in"))
    page.keyboard.press("Enter")
    page.wait_for_url("**/login")
    keys.move_to(lambda f: f["name"] == "identifier")
    page.keyboard.type(scene["email"])
    keys.move_to(lambda f: f["name"] == "password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")  # submits the form
    page.wait_for_url(lambda url: not url.endswith("/login"))

    keys.move_to(link("Find activities"))
    page.keyboard.press("Enter")
    page.wait_for_url("**/activities")
    keys.move_to(link(scene["title"]))
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/activities/{scene['code']}")

    # the button is near the end of the page: back from the end, past the footer's links
    keys.move_to(lambda f: f["tag"] == "button" and f["label"] == "Sign up", backwards=True)
    page.keyboard.press("Space")
    page.locator(".flash--success").wait_for()

    assert signups() == [(scene["activity_id"], scene["volunteer_id"], "accepted")]
    assert page.locator(".flash--success").inner_text() == f"You are signed up for {scene['title']}."
    assert page.locator("#signup .badge").inner_text() == "Accepted"
    # every stop on the way was checked; the walk passed through the page's links, fields and buttons
    assert {s["tag"] for s in keys.stops} >= {"a", "input", "button"}
