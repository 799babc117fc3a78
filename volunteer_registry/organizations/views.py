from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..access import loads_organization
from ..accounts.permissions import INVITATION_PERMISSIONS, can, platform_admin_required, require
from ..errors import DomainError, NotFound, apply_to_form
from ..extensions import db
from ..forms import ConfirmForm
from ..links import public_url
from ..paging import requested_page
from ..text import isolate
from ..volunteers.queries import volunteer_for_user
from ..volunteers.services import reveal_id_number
from . import bp
from .forms import (
    DecisionForm,
    DirectoryForm,
    ImportForm,
    InvitationForm,
    MembershipDecisionForm,
    OrganizationForm,
    SealForm,
)
from .importing import (
    ImportFileError,
    import_deadline,
    import_volunteers,
    read_rows,
    template_csv,
    template_xlsx,
)
from .models import MEMBERSHIP_STATUSES, ORG_STATUSES
from .queries import (
    directory,
    figures_of,
    member_counts,
    members,
    membership_in,
    membership_of,
    open_invitations,
    organizations_for_review,
    organizations_of_user,
)
from .services import (
    SEAL_MAX_BYTES,
    OrganizationData,
    OrganizationError,
    accept_invitation,
    accept_membership_invitation,
    apply_for_membership,
    apply_for_organization,
    create_invitation,
    decide_membership,
    decide_organization,
    decline_membership_invitation,
    find_invitation,
    leave_organization,
    remove_seal,
    set_seal,
    update_organization,
)


@bp.route("/organizations")
def directory_page():
    form = DirectoryForm(request.args)
    form.validate()
    results = directory(text=form.q.data or "", region_code=form.region.data or "", page=requested_page())
    return render_template("organizations/directory.html", form=form, results=results)


@bp.route("/organizations/<code>")
@loads_organization()
def show(org):
    volunteer = volunteer_for_user(current_user)
    return render_template(
        "organizations/show.html", org=org, membership=membership_of(org, volunteer), volunteer=volunteer,
        can_manage=can(current_user, "org.view_private", org), confirm=ConfirmForm(),
        decision_form=DecisionForm() if can(current_user, "orgs.decide") else None,
    )


@bp.route("/organizations/apply", methods=["GET", "POST"])
@login_required
def apply():
    form = OrganizationForm()
    if form.validate_on_submit():
        try:
            org = apply_for_organization(current_user, OrganizationData.from_mapping(form.data))
        except OrganizationError as error:
            if not apply_to_form(error, form):
                flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("Your application has been received. A civil-affairs officer will review it; "
                    "you will see the decision here."), "success")
            return redirect(url_for("organizations.manage", code=org.code))
    return render_template("organizations/apply.html", form=form)


@bp.route("/organizations/mine")
@login_required
def mine():
    return render_template("organizations/mine.html", staff=organizations_of_user(current_user))


@bp.route("/organizations/<code>/manage")
@login_required
@loads_organization("org.view_private")
def manage(org):
    invitations = open_invitations(org) if can(current_user, "members.decide", org) else []
    figures = figures_of(org)
    return render_template("organizations/manage.html", org=org, counts=member_counts(org),
                           invitations=invitations, pending_entries=figures.get("pending_entries", {}), permissions={
                               p: can(current_user, p, org)
                               for p in ("org.edit", "staff.invite", "members.view", "members.decide",
                                         "members.import", "activities.manage", "ledger.decide",
                                         "certificates.view", "reports.view")},
                           certificate_requests=figures.get("certificate_requests", 0)
                           if can(current_user, "certificates.view", org) else 0)


def _edit_page(org, form, seal_form, status: int = 200):
    return render_template("organizations/edit.html", form=form, org=org, seal_form=seal_form,
                           has_seal=org.seal_png is not None, remove_form=ConfirmForm()), status


@bp.route("/organizations/<code>/seal", methods=["POST"])
@login_required
@loads_organization("org.edit")
def seal(org):
    """Upload the seal printed on certificates (or remove it)."""
    if request.form.get("remove"):
        if ConfirmForm().validate_on_submit():
            remove_seal(current_user, org)
            db.session.commit()
            flash(_("The seal is removed; certificate PDFs made from now on have none."), "success")
        return redirect(url_for("organizations.edit", code=org.code))
    seal_form = SealForm()
    if seal_form.validate_on_submit():
        upload = seal_form.seal.data
        with upload.stream:
            data = upload.read(SEAL_MAX_BYTES + 1)
        try:
            set_seal(current_user, org, data)
        except OrganizationError as error:
            apply_to_form(error, seal_form)
        else:
            db.session.commit()
            flash(_("The seal is saved; every certificate PDF made from now on carries it."), "success")
            return redirect(url_for("organizations.edit", code=org.code))
    return _edit_page(org, OrganizationForm(obj=org), seal_form, 422)


@bp.route("/organizations/<code>/seal.png")
@login_required
@loads_organization("org.edit")
def seal_image(org):
    if org.seal_png is None:
        raise NotFound("not_found")
    response = Response(org.seal_png, mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.route("/organizations/<code>/edit", methods=["GET", "POST"])
@login_required
@loads_organization("org.edit")
def edit(org):
    form = OrganizationForm(obj=org)
    if form.validate_on_submit():
        try:
            update_organization(current_user, org, OrganizationData.from_mapping(form.data))
        except OrganizationError as error:
            if not apply_to_form(error, form):
                flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("organizations.manage", code=org.code))
    return _edit_page(org, form, SealForm(formdata=None), 422 if form.errors else 200)


@bp.route("/organizations/<code>/invitations", methods=["GET", "POST"])
@login_required
@loads_organization("members.decide")
def invitations(org):
    form = InvitationForm()
    form.role.choices = [choice for choice in form.role.choices
                         if can(current_user, INVITATION_PERMISSIONS[choice.value], org)]
    link = None
    if form.validate_on_submit():
        require(INVITATION_PERMISSIONS[form.role.data], org)
        _invitation, token = create_invitation(current_user, org, form.role.data, form.note.data or "")
        db.session.commit()
        link = public_url("organizations.invitation", token=token)
    return render_template("organizations/invitations.html", org=org, form=form, link=link)


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@login_required
def invitation(token: str):
    try:
        invite = find_invitation(token)
    except OrganizationError as error:
        return render_template("errors/error.html", status=404, message=error.message), 404
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            accept_invitation(current_user, token)
        except OrganizationError as error:
            flash(error.message, "error")
            if error.code == "volunteer_profile_required":
                return redirect(url_for("volunteers.profile", next=request.path))
        else:
            db.session.commit()
            flash(_("Welcome to %(org)s.", org=isolate(invite.organization.name)), "success")
            if invite.role == "member":
                return redirect(url_for("organizations.show", code=invite.organization.code))
            return redirect(url_for("organizations.manage", code=invite.organization.code))
    return render_template("organizations/invitation.html", invite=invite, form=form)


@bp.route("/organizations/<code>/members")
@login_required
@loads_organization("members.view")
def members_page(org):
    status = request.args.get("status", "")
    page = members(org, status if status in MEMBERSHIP_STATUSES else "", requested_page())
    return render_template("organizations/members.html", org=org, page=page, status=status,
                           decision_form=MembershipDecisionForm(), confirm=ConfirmForm(),
                           can_decide=can(current_user, "members.decide", org),
                           can_reveal=can(current_user, "members.reveal_id", org))


@bp.route("/organizations/<code>/members/<int:membership_id>/decision", methods=["POST"])
@login_required
@loads_organization("members.decide")
def decide_member(org, membership_id: int):
    membership = membership_in(org, membership_id)
    form = MembershipDecisionForm()
    if form.validate_on_submit():
        decide_membership(current_user, membership, form.decision.data == "approve")
        db.session.commit()
        flash(_("%(name)s: %(status)s.", name=isolate(membership.volunteer.name), status=membership.status_label),
              "success")
    return redirect(url_for("organizations.members_page", code=org.code, status=request.args.get("status", "")))


@bp.route("/organizations/<code>/members/<int:membership_id>/id-number", methods=["POST"])
@login_required
@loads_organization("members.reveal_id")
def reveal_member_id(org, membership_id: int):
    membership = membership_in(org, membership_id)
    number = reveal_id_number(current_user, membership.volunteer, organization=org, purpose="member list")
    db.session.commit()
    return render_template("volunteers/id_number.html", volunteer=membership.volunteer, number=number,
                           back=url_for("organizations.members_page", code=org.code))


@bp.route("/organizations/<code>/join", methods=["POST"])
@login_required
@loads_organization()
def join(org):
    try:
        membership = apply_for_membership(current_user, org)
    except OrganizationError as error:
        flash(error.message, "error")
        if error.code == "volunteer_profile_required":
            return redirect(url_for("volunteers.profile", next=url_for("organizations.show", code=org.code)))
    else:
        db.session.commit()
        if membership.status == "active":
            flash(_("You are now a member of %(org)s.", org=isolate(org.name)), "success")
        else:
            flash(_("Your request to join %(org)s is waiting for a coordinator's approval.", org=org.name), "info")
    return redirect(url_for("organizations.show", code=org.code))


def _own_membership(org):
    """The signed-in person's membership of ``org``; to anyone without one it does not exist. Raises NotFound."""
    membership = membership_of(org, volunteer_for_user(current_user))
    if membership is None:
        raise NotFound("not_found")
    return membership


@bp.route("/organizations/<code>/invitation/accept", methods=["POST"])
@login_required
@loads_organization()
def accept_membership(org):
    """The invited volunteer accepts the organization's invitation (sent when it imported a row naming them)."""
    membership = _own_membership(org)
    if ConfirmForm().validate_on_submit():
        try:
            accept_membership_invitation(current_user, membership)
        except OrganizationError as error:
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("You are now a member of %(org)s.", org=isolate(org.name)), "success")
    return redirect(url_for("organizations.show", code=org.code))


@bp.route("/organizations/<code>/invitation/decline", methods=["POST"])
@login_required
@loads_organization()
def decline_membership(org):
    """The invited volunteer declines: the organization sees that, nothing more."""
    membership = _own_membership(org)
    if ConfirmForm().validate_on_submit():
        try:
            decline_membership_invitation(current_user, membership)
        except OrganizationError as error:
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("You have declined the invitation of %(org)s.", org=org.name), "info")
    return redirect(url_for("organizations.show", code=org.code))


@bp.route("/organizations/<code>/leave", methods=["POST"])
@login_required
@loads_organization()
def leave(org):
    try:
        leave_organization(current_user, org)
    except OrganizationError as error:
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("You have left %(org)s.", org=org.name), "info")
    return redirect(url_for("organizations.show", code=org.code))


@bp.route("/organizations/<code>/import", methods=["GET", "POST"])
@login_required
@loads_organization("members.import")
def import_members(org):
    form = ImportForm()
    report = None
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        deadline = import_deadline()  # reading, checking and writing together: the worker must not time out
        with upload.stream:  # a large upload is spooled to a temporary file: close it
            content = upload.read()
        try:
            rows = read_rows(upload.filename or "", content, deadline=deadline)
            report = import_volunteers(current_user, org, rows, deadline=deadline)
        except ImportFileError as error:
            db.session.rollback()  # stopped while writing (import_too_slow): nothing of the file stays
            form.file.errors.append(error.message)
            status = 422
        else:
            if report.ok:
                db.session.commit()
                form = ImportForm(formdata=None)
            else:
                db.session.rollback()
                status = 422
    elif request.method == "POST":
        status = 422
    return render_template("organizations/import.html", org=org, form=form, report=report), status


@bp.route("/organizations/<code>/import/template.<fmt>")
@login_required
@loads_organization("members.import")
def import_template(org, fmt: str):
    if fmt == "csv":
        return Response(template_csv(), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=volunteers-template.csv"})
    if fmt == "xlsx":
        return Response(template_xlsx(),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": "attachment; filename=volunteers-template.xlsx"})
    abort(404)


@bp.route("/admin/organizations")
@platform_admin_required
def review():
    status = request.args.get("status", "pending")
    status = status if status in ORG_STATUSES or status == "" else "pending"
    page = organizations_for_review(status, request.args.get("q", ""), requested_page())
    return render_template("organizations/review.html", page=page, status=status, statuses=ORG_STATUSES,
                           q=request.args.get("q", ""))


@bp.route("/admin/organizations/<code>/decision", methods=["POST"])
@platform_admin_required
@loads_organization("orgs.decide")
def decide(org):
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            decide_organization(current_user, org, form.decision.data, form.reason.data)
        except DomainError as error:
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("%(org)s is now %(status)s.", org=org.name, status=org.status_label), "success")
    return redirect(url_for("organizations.show", code=org.code))
