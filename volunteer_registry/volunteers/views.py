from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import apply_to_form
from ..extensions import db
from ..forms import ConfirmForm
from ..security import is_safe_next
from . import bp
from .forms import VolunteerForm
from .queries import record_sections, volunteer_for_user
from .services import VolunteerData, VolunteerError, reveal_id_number, save_own_profile


@bp.route("/volunteer")
@login_required
def record():
    volunteer = volunteer_for_user(current_user)
    if volunteer is None:
        return redirect(url_for("volunteers.profile"))
    return render_template("volunteers/record.html", volunteer=volunteer,
                           memberships=record_sections(volunteer).get("memberships", []), confirm=ConfirmForm())


@bp.route("/volunteer/profile", methods=["GET", "POST"])
@login_required
def profile():
    volunteer = volunteer_for_user(current_user)
    form = VolunteerForm(obj=volunteer)
    if request.method == "GET" and volunteer is not None:
        form.id_number.data = ""  # never echo the full number into a page
        form.consent.data = True
        form.guardian_consent.data = volunteer.guardian_consent_at is not None
    if volunteer is not None:
        form.id_number.validators = []  # keep the stored number when left empty
        form.id_number.flags.required = False
        form.id_number.description = _("Leave empty to keep %(masked)s.", masked=volunteer.id_number_masked)
    if form.validate_on_submit():
        try:
            saved = save_own_profile(current_user, VolunteerData.from_mapping(form.data))
        except VolunteerError as error:
            db.session.rollback()
            if not apply_to_form(error, form):
                flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("Your volunteer profile is saved. Your volunteer number is %(number)s.",
                    number=saved.volunteer_number), "success")
            target = request.args.get("next")
            return redirect(target if is_safe_next(target) else url_for("volunteers.record"))
    return render_template("volunteers/profile.html", form=form, volunteer=volunteer)


@bp.route("/volunteer/id-number", methods=["POST"])
@login_required
def reveal_own_id():
    volunteer = volunteer_for_user(current_user)
    if volunteer is None or not ConfirmForm().validate_on_submit():
        return redirect(url_for("volunteers.profile"))
    number = reveal_id_number(current_user, volunteer, purpose="own record")
    db.session.commit()
    return render_template("volunteers/id_number.html", volunteer=volunteer, number=number,
                           back=url_for("volunteers.record"))
