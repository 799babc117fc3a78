"""Administrative divisions (GB/T 2260 codes) shipped as data: Qinghai's province, prefectures and counties."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from flask_babel import get_locale

_DATA = Path(__file__).parent / "data" / "regions.csv"


@dataclass(frozen=True)
class Region:
    code: str
    parent: str | None
    level: str
    name_zh: str
    name_en: str

    @property
    def name(self) -> str:
        locale = get_locale()
        return self.name_zh if locale is not None and locale.language == "zh" else self.name_en

    @property
    def prefix(self) -> str:
        """The code prefix shared by this region and everything inside it."""
        return {"province": self.code[:2], "prefecture": self.code[:4]}.get(self.level, self.code)


@cache
def all_regions() -> dict[str, Region]:
    with _DATA.open(encoding="utf-8") as fh:
        return {row["code"]: Region(row["code"], row["parent"] or None, row["level"], row["name_zh"], row["name_en"])
                for row in csv.DictReader(fh)}


def get_region(code: str | None) -> Region | None:
    return all_regions().get(code or "")


def region_path(code: str | None) -> str:
    """'Prefecture / County' (or the region's own name) for display."""
    region = get_region(code)
    if region is None:
        return ""
    names = []
    while region is not None and region.level != "province":
        names.append(region.name)
        region = get_region(region.parent)
    return " / ".join(reversed(names)) or (get_region(code).name)


def region_choices(*, include_province: bool = False) -> list[tuple[str, str]]:
    """Choices for a select: prefectures followed by their counties, indented."""
    choices = []
    for region in all_regions().values():
        if region.level == "province" and not include_province:
            continue
        indent = "\u00a0\u00a0\u00a0" if region.level == "county" else ""
        choices.append((region.code, indent + region.name))
    return choices


def codes_within(code: str) -> list[str]:
    """Every region code inside ``code``, itself included."""
    region = get_region(code)
    if region is None:
        return []
    return [c for c in all_regions() if c.startswith(region.prefix)]
