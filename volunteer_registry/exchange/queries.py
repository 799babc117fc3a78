"""The regional view's figures: what the registries below sent up (RegionalService, ReceivedEvent), by peer and
region. Only the ingest writes those rows."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from ..extensions import db
from ..regions import all_regions
from .models import Peer, ReceivedEvent, RegionalService


@dataclass
class RegionalFigures:
    volunteers: int  #: distinct volunteers with service recorded below
    entries: int  #: service entries, whatever their status
    approved_minutes: int


def regional_totals() -> RegionalFigures:
    """Everything the registries below sent up: the province dashboard's "from systems below" figures."""
    volunteers = db.session.scalar(select(func.count()).select_from(
        select(RegionalService.peer_id, RegionalService.volunteer_key).distinct().subquery()))
    entries = db.session.scalar(select(func.count()).select_from(RegionalService))
    minutes = db.session.scalar(select(func.coalesce(func.sum(RegionalService.minutes), 0))
                                .where(RegionalService.status == "approved"))
    return RegionalFigures(volunteers or 0, entries or 0, int(minutes or 0))


def regional_rows() -> list[dict]:
    """Each peer that sent anything (or is trusted), with its figures by region code: volunteers, service entries,
    approved minutes; and how far its feed is held."""
    by_peer: dict[int, list[dict]] = {}
    approved = func.sum(db.case((RegionalService.status == "approved", RegionalService.minutes), else_=0))
    for peer_id, region, volunteers, entries, minutes in db.session.execute(
            select(RegionalService.peer_id, RegionalService.region_code,
                   func.count(RegionalService.volunteer_key.distinct()), func.count(), approved)
            .group_by(RegionalService.peer_id, RegionalService.region_code)
            .order_by(RegionalService.peer_id, RegionalService.region_code)):
        by_peer.setdefault(peer_id, []).append({"region": region, "volunteers": volunteers, "entries": entries,
                                                "minutes": int(minutes or 0)})
    held = dict(db.session.execute(select(ReceivedEvent.peer_id, func.count()).group_by(ReceivedEvent.peer_id)).all())
    regions = all_regions()
    rows = []
    for peer in db.session.scalars(select(Peer).order_by(Peer.name)):
        if peer.id not in by_peer and peer.id not in held and peer.status != "trusted":
            continue
        lines = [dict(line, name=regions[line["region"]].name if line["region"] in regions else line["region"])
                 for line in by_peer.get(peer.id, [])]
        rows.append({"peer": peer, "events": held.get(peer.id, 0), "regions": lines,
                     "volunteers": sum(line["volunteers"] for line in lines),
                     "entries": sum(line["entries"] for line in lines),
                     "minutes": sum(line["minutes"] for line in lines)})
    return rows
