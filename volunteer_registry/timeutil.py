"""Local time for people, UTC for storage: the province's time zone and parsing of typed date-times."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


def parse_datetime(value) -> dt.datetime | None:
    """An aware UTC datetime from a datetime or an ISO 8601 string; times without an offset are local (Beijing
    time), as typed in a form. None when it cannot be read."""
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        text = str(value or "").strip()
        if not text:
            return None
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LOCAL_ZONE)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        return None


def local(value: dt.datetime) -> dt.datetime:
    return value.astimezone(LOCAL_ZONE)
