"""The push outbox (docs/EXCHANGE.md): with EXCHANGE_PUSH_URL and EXCHANGE_PUSH_TOKEN set, the sequenced events
are delivered in order, a page at a time, to ``POST {url}/api/v1/exchange/ingest``. ``PushState.cursor`` moves only
to what the receiver acknowledges, after it answered; the receiver keeps each (peer, seq) once. So a push killed
at any point resends at most the page it was sending, and the receiver stores it once: exactly once by cursor.
A failure waits before the next attempt, twice as long each time (up to an hour)."""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import requests
from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import utcnow
from .feed import feed_page, sequence_events
from .models import PushState

PUSH_TIMEOUT = 30
BACKOFF_FIRST = 10  #: seconds after the first failure
BACKOFF_MAX = 3600


@dataclass
class PushResult:
    delivered: int  #: events the receiver acknowledged in this run
    cursor: int
    error: str | None = None
    waiting: bool = False  #: nothing was tried: the back-off after a failure is not over


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after ``attempts`` failures in a row: 10 s, 20 s, 40 s, … at most an hour."""
    return dt.timedelta(seconds=min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, attempts - 1)))


def push_state(url: str) -> PushState:
    state = db.session.scalar(select(PushState).where(PushState.url == url))
    if state is None:
        state = PushState(url=url, cursor=0, attempts=0)
        db.session.add(state)
        db.session.flush()
    return state


def push_configured() -> bool:
    return bool(current_app.config.get("EXCHANGE_PUSH_URL") and current_app.config.get("EXCHANGE_PUSH_TOKEN"))


def _deliver(url: str, token: str, page: dict) -> int:
    """POST one page; the cursor the receiver acknowledges. Raises RuntimeError with what went wrong."""
    try:
        response = requests.post(url + "/api/v1/exchange/ingest", json=page, timeout=PUSH_TIMEOUT,
                                 headers={"Authorization": f"Bearer {token}"}, allow_redirects=False)
    except requests.RequestException as error:
        raise RuntimeError(f"unreachable: {type(error).__name__}") from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code != 200 or not isinstance(answer, dict) or not isinstance(answer.get("cursor"), int):
        code = answer.get("error", {}).get("code") if isinstance(answer, dict) and isinstance(
            answer.get("error"), dict) else None
        raise RuntimeError(f"HTTP {response.status_code}" + (f" {code}" if code else ""))
    return answer["cursor"]


def push_once(*, now: dt.datetime | None = None, force: bool = False) -> PushResult:
    """Deliver what the receiver has not acknowledged, page by page, committing the cursor after each answer.
    A failure records the attempt and the next time to try (exponential back-off) and stops; before that time
    nothing is tried unless ``force``. Commits."""
    url = current_app.config["EXCHANGE_PUSH_URL"].rstrip("/")
    token = current_app.config["EXCHANGE_PUSH_TOKEN"]
    now = now or utcnow()
    sequence_events()
    db.session.commit()
    state = push_state(url)
    db.session.commit()
    if not force and state.next_attempt_at is not None and state.next_attempt_at > now:
        return PushResult(0, state.cursor, state.last_error, waiting=True)
    delivered = 0
    while True:
        page = feed_page(state.cursor, current_app.config["EXCHANGE_PUSH_PAGE"])
        db.session.commit()  # the log's first checkpoint, if the page made it
        if not page["events"] and page["next"] == state.cursor:
            break
        try:
            acknowledged = _deliver(url, token, page)
        except RuntimeError as error:
            state.attempts += 1
            state.last_error = str(error)[:500]
            state.next_attempt_at = now + backoff(state.attempts)
            db.session.commit()
            return PushResult(delivered, state.cursor, state.last_error)
        # the receiver holds everything up to ``acknowledged``; never past what was sent
        advanced = min(acknowledged, page["next"])
        delivered += sum(1 for item in page["events"] if state.cursor < item["seq"] <= advanced)
        if advanced <= state.cursor and page["events"]:
            state.attempts += 1
            state.last_error = f"the receiver acknowledged {acknowledged}, not past {state.cursor}"
            state.next_attempt_at = now + backoff(state.attempts)
            db.session.commit()
            return PushResult(delivered, state.cursor, state.last_error)
        state.cursor = max(state.cursor, advanced)
        state.attempts, state.next_attempt_at, state.last_error = 0, None, None
        state.last_success_at = utcnow()
        db.session.commit()
        if not page["more"]:
            break
    return PushResult(delivered, state.cursor)


def push_loop(every: float, times: int | None = None, echo=None) -> None:
    """Push every ``every`` seconds (``times`` rounds, or until stopped)."""
    done = 0
    while times is None or done < times:
        result = push_once()
        if echo is not None:
            echo(result)
        done += 1
        if times is None or done < times:
            time.sleep(every)
