"""docs/exchange/record-bundle-1.schema.json describes the bundles the app builds. The ``jsonschema`` package is not a
dependency, so the schema is applied by a small validator below that knows exactly the keywords the schema uses
(a test checks that it uses no other): type, required, properties, additionalProperties, items, const, enum,
pattern, minimum, minLength, maxLength and local $ref."""
from __future__ import annotations

import copy
import datetime as dt
import json
import re
from pathlib import Path

import pytest

from tests.exchange.test_bundle import served  # noqa: F401  (the fixture)
from tests.ledger.test_ledger import serve, site  # noqa: F401  (the fixtures)
from volunteer_registry.certificates.services import issue_certificate, today
from volunteer_registry.exchange.bundle import build_bundle, bundle_bytes
from volunteer_registry.extensions import db
from volunteer_registry.organizations.services import apply_for_membership, decide_membership
from volunteer_registry.records.services import (
    AwardData,
    EvaluationData,
    TrainingData,
    record_award,
    record_evaluation,
    record_training,
)

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "exchange" / "record-bundle-1.schema.json"
KEYWORDS = {"$schema", "$id", "$defs", "$ref", "title", "description", "type", "required", "properties",
            "additionalProperties", "items", "const", "enum", "pattern", "minimum", "minLength", "maxLength"}
TYPES = {"object": dict, "array": list, "string": str, "null": type(None), "boolean": bool}


def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _is(value, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, TYPES[name])


def problems(value, node: dict, root: dict, where: str = "$") -> list[str]:
    """Where ``value`` breaks the schema ``node`` (JSON Schema 2020-12, the keywords of KEYWORDS)."""
    if "$ref" in node:
        target = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return problems(value, target, root, where)
    found = []
    types = node.get("type")
    if types is not None and not any(_is(value, name) for name in ([types] if isinstance(types, str) else types)):
        return [f"{where}: {value!r} is not {types}"]
    if "const" in node and value != node["const"]:
        found.append(f"{where}: not {node['const']!r}")
    if "enum" in node and value not in node["enum"]:
        found.append(f"{where}: {value!r} not in {node['enum']}")
    if isinstance(value, str):
        if "pattern" in node and not re.search(node["pattern"], value):
            found.append(f"{where}: {value!r} does not match {node['pattern']}")
        if len(value) < node.get("minLength", 0) or len(value) > node.get("maxLength", len(value)):
            found.append(f"{where}: length {len(value)}")
    if _is(value, "integer") and value < node.get("minimum", value):
        found.append(f"{where}: below {node['minimum']}")
    if isinstance(value, dict):
        found += [f"{where}: {key} is missing" for key in node.get("required", ()) if key not in value]
        declared = node.get("properties", {})
        extra = node.get("additionalProperties", True)
        for key, inner in value.items():
            if key in declared:
                found += problems(inner, declared[key], root, f"{where}.{key}")
            elif extra is False:
                found.append(f"{where}: {key} is not allowed")
            elif isinstance(extra, dict):
                found += problems(inner, extra, root, f"{where}.{key}")
    if isinstance(value, list) and "items" in node:
        for position, inner in enumerate(value):
            found += problems(inner, node["items"], root, f"{where}[{position}]")
    return found


def keywords(node) -> set[str]:
    """Every keyword the schema uses (the names under properties and $defs are names, not keywords)."""
    if isinstance(node, list):
        return set().union(*(keywords(item) for item in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    used = set(node)
    for key, inner in node.items():
        if key in ("properties", "$defs"):
            used |= set().union(*(keywords(item) for item in inner.values())) if inner else set()
        elif key not in ("const", "enum"):
            used |= keywords(inner)
    return used


@pytest.fixture
def full_bundle(app, make, served):  # noqa: F811
    """A real bundle with something in every list: service decided both ways, training, an award, an evaluation
    and a certificate, with an exchange key and a national number."""
    app.config["EXCHANGE_ID_KEY"] = "the exchange network's shared key"
    volunteer, entries = served
    org = entries[0].organization
    admin = make.org_admin_of(org)
    admin.display_name = "王主任"
    decide_membership(admin, apply_for_membership(make.account_of(volunteer), org), True)
    day = today() - dt.timedelta(days=20)
    record_training(admin, org, volunteer, TrainingData(title="急救培训", provider="市红十字会", date=day, minutes=180))
    record_award(admin, org, volunteer, AwardData(title="优秀志愿者", provider="城东区文明办", date=day,
                                                  level="county"))
    record_evaluation(admin, org, volunteer, EvaluationData(period_start=day, period_end=today(), rating="good",
                                                            comment="守时，认真"))
    volunteer.national_number = "63010220260001234"
    db.session.commit()
    issue_certificate(admin, org, volunteer, today() - dt.timedelta(days=30), today(), render=False)
    db.session.commit()
    bundle = json.loads(bundle_bytes(build_bundle(volunteer)))
    db.session.commit()
    return bundle


def test_the_schema_uses_only_the_keywords_checked_here():
    assert keywords(schema()) <= KEYWORDS
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_a_real_bundle_with_every_category_validates(full_bundle):
    record = full_bundle["record"]
    assert [len(record[name]) for name in ("training", "awards", "evaluations", "certificates")] == [1, 1, 1, 1]
    assert record["volunteer"]["national_number"] == "63010220260001234"
    assert problems(full_bundle, schema(), schema()) == []
    leaves = [json.loads(item["leaf"]) for item in record["entries"]]
    assert {leaf["kind"] for leaf in leaves} == {"service", "approval", "rejection", "certificate"}
    for leaf in leaves:
        assert problems(leaf, schema()["$defs"]["leaf-v1"], schema()) == []


@pytest.mark.parametrize("change, where", [
    (lambda b: b.pop("signature"), "$: signature is missing"),
    (lambda b: b.update(format="volunteer-registry/record-bundle/2"), "$.format: not"),
    (lambda b: b["record"]["volunteer"].update(gender="x"), "$.record.volunteer.gender"),
    (lambda b: b["record"]["summary"].update(approved_minutes="100"), "$.record.summary.approved_minutes"),
    (lambda b: b["record"]["entries"][0]["proof"].append("not base64"), "$.record.entries[0].proof["),
    (lambda b: b["record"]["entries"][0]["text"].pop("reason"), "$.record.entries[0].text: reason is missing"),
    (lambda b: b["record"]["certificates"][0].update(minutes=-1), "$.record.certificates[0].minutes"),
    (lambda b: b["record"]["organizations"].update(X=1), "$.record.organizations.X"),
])
def test_a_bundle_of_the_wrong_shape_does_not_validate(full_bundle, change, where):
    changed = copy.deepcopy(full_bundle)
    change(changed)
    found = problems(changed, schema(), schema())
    assert found and found[0].startswith(where), found
