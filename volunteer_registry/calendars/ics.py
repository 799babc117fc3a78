"""iCalendar (RFC 5545) documents from plain facts, with the ``icalendar`` library: it escapes text, folds every
line at 75 octets without splitting a UTF-8 character, and ends lines with CRLF. Times are written in UTC."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlsplit

import icalendar

from ..links import public_base_url

PRODID = "-//Volunteer Registry//Calendar feeds//EN"
#: how often a subscribed calendar is asked to refresh (RFC 7986 REFRESH-INTERVAL and the older X-PUBLISHED-TTL)
REFRESH = dt.timedelta(hours=6)
#: an event's STATUS for each sign-up status: a place held is confirmed, one still waited for is tentative
EVENT_STATUS = {"accepted": "CONFIRMED", "pending": "TENTATIVE", "waitlisted": "TENTATIVE"}


@dataclass(frozen=True)
class EventFacts:
    """One VEVENT: what the feed says of a shift (and of the reader's place in it)."""

    uid: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    summary: str
    location: str
    url: str
    description: str
    status: str  # CONFIRMED, TENTATIVE or CANCELLED
    last_modified: dt.datetime | None = None


def uid_host() -> str:
    """The host part of every UID: this instance's public host, so that UIDs stay unique across instances."""
    return urlsplit(public_base_url()).hostname or "localhost"


def absolute(path: str) -> str:
    return public_base_url() + path


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).replace(microsecond=0)


def calendar_bytes(name: str, events: list[EventFacts], now: dt.datetime) -> bytes:
    """The VCALENDAR named ``name`` holding ``events``, as the bytes to serve (UTF-8, CRLF, folded)."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", icalendar.vDuration(REFRESH).to_ical().decode())
    stamp = _utc(now)
    for facts in events:
        event = icalendar.Event()
        event.add("uid", facts.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", _utc(facts.starts_at))
        event.add("dtend", _utc(facts.ends_at))
        event.add("summary", facts.summary)
        if facts.location:
            event.add("location", facts.location)
        event.add("url", facts.url)
        if facts.description:
            event.add("description", facts.description)
        event.add("status", facts.status)
        if facts.last_modified is not None:
            event.add("last-modified", _utc(facts.last_modified))
        calendar.add_component(event)
    return calendar.to_ical()
