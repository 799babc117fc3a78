"""The ledger's pages: coordinators decide their organization's service entries, volunteers see their hours."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..access import loads_organization
from ..accounts.permissions import platform_admin_required
from ..errors import NotFound
from ..extensions import db
from ..hours import hours_label
from ..integrity.services import IntegrityRefusal
from ..paging import requested_page
from ..volunteers.access import volunteer_required
from . import bp
from .forms import STATUS_CHOICES, DecisionForm, EntryFilterForm
from .queries import (
    activity_choices,
    activity_of,
    entry_rows,
    escalated_states,
    organization_entries,
    organization_names,
    pending_counts,
    volunteer_history,
)
from .services import LedgerError, decide_entries, decision_blocks, hours_of

#: the query parameters of the approval page that a decision keeps when it sends the coordinator back
FILTER_ARGS = ("status", "activity", "flagged", "date_from", "date_to", "page")


@bp.app_template_filter("hours")
def hours_filter(minutes: int | None) -> str:
    """Minutes as hours with one decimal, e.g. "1.5 h" (DESIGN.md: hours are shown with one decimal)."""
    return hours_label(minutes)


def _filters() -> dict[str, str]:
    """The approval page's filters from the query string, to keep across a decision."""
    return {key: request.args[key] for key in FILTER_ARGS if request.args.get(key)}


def _entries_page(org, form: DecisionForm, *, problem_ids=frozenset(), status: int = 200):
    """The approval page for the filters in the query string, with the decision form as given."""
    activities = [(code, title, format_date(starts_at, "medium")) for code, title, starts_at in activity_choices(org)]
    filters = EntryFilterForm(request.args, activities=activities)
    filters.validate()
    chosen = {f.name: (f.default if f.errors else f.data) for f in filters}
    activity = activity_of(org, chosen["activity"])
    query = dict(status=chosen["status"] or "pending", activity_id=activity.id if activity else None,
                 flagged_only=bool(chosen["flagged"]), date_from=chosen["date_from"], date_to=chosen["date_to"])
    page = organization_entries(org, page=requested_page(), **query)
    if not page.items and page.page > 1 and page.pages:  # decisions emptied the last page: show the one before
        page = organization_entries(org, page=page.pages, **query)
    summary = [dict(STATUS_CHOICES)[query["status"]]] if query["status"] in dict(STATUS_CHOICES) else []
    if activity is not None:
        summary.append(activity.title)
    if query["flagged_only"]:
        summary.append(filters.flagged.label.text)
    if query["date_from"] or query["date_to"]:
        summary.append("–".join(format_date(day, "medium") if day else "…"
                                for day in (query["date_from"], query["date_to"])))
    checked = set(form.entries.data or ())
    return render_template(
        "ledger/entries.html", org=org, filters=filters, form=form, page=page, rows=entry_rows(page.items),
        checked=checked, problem_ids=problem_ids, filter_summary=[str(part) for part in summary],
        pending=pending_counts([org.id]).get(org.id, 0), keep=_filters(),
        blocked=decision_blocks(current_user, page.items)), status


@bp.route("/organizations/<code>/entries")
@login_required
@loads_organization("ledger.decide")
def organization_entries_page(org):
    return _entries_page(org, DecisionForm(formdata=None))


@bp.route("/organizations/<code>/entries/decision", methods=["POST"])
@login_required
@loads_organization("ledger.decide")
def decide(org):
    form = DecisionForm()
    if not form.validate_on_submit():
        return _entries_page(org, form, status=422)
    ids = form.entries.data or []
    try:
        made = decide_entries(current_user, org, ids, form.decision.data or "", form.reason.data or "")
    except (LedgerError, IntegrityRefusal) as error:
        db.session.rollback()
        problem_ids = frozenset()
        message = error.message
        entry_id = error.params.get("id") or error.params.get("entry_id")
        if entry_id is not None:  # name the entry the decision stopped at
            problem_ids = frozenset({int(entry_id)})
            if isinstance(error, IntegrityRefusal):
                message = _("Entry %(ids)s: %(message)s", ids=entry_id, message=message)
        target = error.field if error.field in ("reason", "entries") else None
        if target:
            form[target].errors = [*form[target].errors, message]
        else:
            form.form_errors.append(message)
        return _entries_page(org, form, problem_ids=problem_ids, status=error.http_status)
    db.session.commit()
    if form.decision.data == "approve":
        flash(ngettext("%(num)s entry approved.", "%(num)s entries approved.", len(made)), "success")
    else:
        flash(ngettext("%(num)s entry rejected.", "%(num)s entries rejected.", len(made)), "success")
    return redirect(url_for("ledger.organization_entries_page", code=org.code, **_filters()))


@bp.route("/platform/entries")
@platform_admin_required
def platform_entries():
    """Civil affairs' queue: entries nobody in their organization may decide (its only staff is the volunteer, or
    its staff are the volunteer and who recorded it)."""
    states = escalated_states(current_user)
    return render_template("ledger/platform.html", rows=entry_rows(states), form=DecisionForm(formdata=None))


@bp.route("/platform/entries/decision", methods=["POST"])
@platform_admin_required
def platform_decide():
    form = DecisionForm()
    ids = (form.entries.data or []) if form.validate_on_submit() else []
    queue = {state.entry_id: state for state in escalated_states(current_user)}
    by_org: dict[int, list[int]] = {}
    for entry_id in ids:
        if entry_id not in queue:
            form.form_errors.append(str(NotFound("not_found").message))
            break
        by_org.setdefault(queue[entry_id].organization_id, []).append(entry_id)
    if not ids and not form.errors:
        form.form_errors.append(str(LedgerError("no_entries").message))
    if form.errors or form.form_errors:
        return render_template("ledger/platform.html", rows=entry_rows(queue.values()), form=form), 422
    try:  # all or none, across organizations
        made = [decision for org_id, org_ids in by_org.items() for decision in decide_entries(
            current_user, queue[org_ids[0]].entry.organization, org_ids, form.decision.data or "",
            form.reason.data or "")]
    except (LedgerError, IntegrityRefusal) as error:
        db.session.rollback()
        form.form_errors.append(error.message)
        return render_template("ledger/platform.html", rows=entry_rows(escalated_states(current_user)),
                               form=form), error.http_status
    db.session.commit()
    flash(ngettext("%(num)s decision recorded.", "%(num)s decisions recorded.", len(made)), "success")
    return redirect(url_for("ledger.platform_entries"))


@bp.route("/volunteer/hours")
@volunteer_required
def hours(volunteer):
    totals = hours_of(volunteer.id)
    names = organization_names(totals.by_organization)
    by_organization = sorted(((names.get(org_id, "?"), minutes) for org_id, minutes in totals.by_organization.items()),
                             key=lambda item: (-item[1], item[0]))
    page = volunteer_history(volunteer.id, requested_page())
    to_go = (totals.next_star_hours * 60 - totals.minutes) if totals.next_star_hours is not None else 0
    return render_template("ledger/hours.html", volunteer=volunteer, totals=totals, to_go=to_go,
                           by_organization=by_organization, by_year=sorted(totals.by_year.items(), reverse=True),
                           page=page, rows=entry_rows(page.items))
