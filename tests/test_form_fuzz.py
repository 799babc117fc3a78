"""Property-based fuzzing of every web form: each web POST of the permission matrix, sent by a role it lets
through, with its valid fields replaced, dropped or joined by hostile values (empty, huge, control characters,
other scripts, markup, SQL, formulas, numbers out of range). The only property: no 5xx."""
from __future__ import annotations

import io

import hypothesis
import pytest
from hypothesis import strategies as st

from .conftest import login
from .test_permissions import WEB_WRITES, build_world, first_permitted_role

ROWS = [row for row in WEB_WRITES if first_permitted_role(row) is not None]
HOSTILE = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40),
    st.sampled_from(["", " ", "0", "-1", "1e309", "NaN", "9" * 40, "2026-13-40", "２０２６-１１-３０",
                     "<script>x</script>", "' OR 1=1 --", "=HYPERLINK(\"http://x\")", "\x00", "\ufffd\ufeff",
                     "x" * 5000, "བཀྲ་ཤིས་བདེ་ལེགས", "y", "on", "approve", "reject"]),
)


def mutations(base: dict):
    """The valid form with some fields replaced by hostile values, some dropped, and maybe one unknown field."""
    keys = sorted(base)
    return st.tuples(
        st.dictionaries(st.sampled_from(keys), HOSTILE, max_size=len(keys)) if keys else st.just({}),
        st.sets(st.sampled_from(keys), max_size=len(keys)) if keys else st.just(set()),
        st.dictionaries(st.sampled_from(["extra", "id", "csrf_token", "status"]), HOSTILE, max_size=1),
    ).map(lambda parts: {**{k: v for k, v in base.items() if k not in parts[1]}, **parts[0], **parts[2]})


@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"{row.method} {row.url}")
def test_no_form_answers_5xx(app, make, row):
    app.config["RATELIMIT_ENABLED"] = False
    world = build_world(make)
    role = first_permitted_role(row)
    actor = world.user(role)
    client = app.test_client()
    if actor is not None:
        login(client, actor)
    base = row.data(world, actor) if callable(row.data) else dict(row.data or {})
    files = {k: v for k, v in base.items() if isinstance(v, tuple)}  # uploads: (stream, name) as the matrix sends
    text = {k: v for k, v in base.items() if k not in files}
    statuses = []

    @hypothesis.given(data=mutations(text))
    @hypothesis.settings(max_examples=12, deadline=None, derandomize=True, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    def fuzz(data):
        body = {**data, **{k: (io.BytesIO(b"not what it claims"), name) for k, (_s, name) in files.items()}}
        response = client.post(world.fmt(row.url), data=body, content_type="multipart/form-data")
        statuses.append(response.status_code)
        assert response.status_code < 500, (row.url, role, data, response.status_code)

    fuzz()
    assert len(statuses) >= 5
