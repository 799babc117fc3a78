"""Shape checks only; the rules (credit code, region, uniqueness) live in services."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..forms import PlainText, choices
from ..regions import region_choices
from ..schema import validators_for
from .schemas import (
    CONTACT_PHONE_MAX,
    CREDIT_CODE_TYPED_MAX,
    DECISION_REASON_MAX,
    INVITATION_NOTE_MAX,
    INVITATION_ROLES,
    JOIN_MODES,
    MEMBERSHIP_DECISIONS,
    NAME_MAX,
    ORG_TYPES,
    ORGANIZATION,
    ORGANIZATION_DECISIONS,
)


class OrganizationForm(FlaskForm):
    name = StringField(_l("Organization name"), validators=validators_for(ORGANIZATION, "name"))
    org_type = SelectField(_l("Type"), validators=[DataRequired()])
    credit_code = StringField(_l("Unified social credit code"),
                              validators=[Optional(), Length(max=CREDIT_CODE_TYPED_MAX)],
                              description=_l("18 characters. Not needed for an unregistered community team."))
    region_code = SelectField(_l("Region"), validators=[DataRequired()])
    address = StringField(_l("Address"), validators=validators_for(ORGANIZATION, "address"))
    person_in_charge = StringField(_l("Person in charge"),
                                   validators=validators_for(ORGANIZATION, "person_in_charge"))
    contact_phone = StringField(_l("Contact phone"), validators=[DataRequired(), Length(max=CONTACT_PHONE_MAX)],
                                render_kw={"inputmode": "tel", "autocomplete": "tel"})
    contact_email = StringField(_l("Contact email"), validators=validators_for(ORGANIZATION, "contact_email"),
                                render_kw={"inputmode": "email", "autocomplete": "email"})
    description = TextAreaField(_l("What the organization does"),
                                validators=validators_for(ORGANIZATION, "description"))
    join_mode = RadioField(_l("How volunteers join"), default="approval")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.org_type.choices = choices([("", _l("Choose…")), *ORG_TYPES.items()])
        self.region_code.choices = choices([("", _l("Choose…")), *region_choices()])
        self.join_mode.choices = choices(JOIN_MODES)


class DecisionForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=choices(ORGANIZATION_DECISIONS))
    reason = TextAreaField(_l("Reason (shown to the applicant)"),
                           validators=[Optional(), Length(max=DECISION_REASON_MAX), PlainText(multiline=True)])


class InvitationForm(FlaskForm):
    role = SelectField(_l("Role"), choices=choices(INVITATION_ROLES), default="coordinator")
    note = StringField(_l("Who is it for (a note for yourselves)"),
                       validators=[Optional(), Length(max=INVITATION_NOTE_MAX), PlainText()])


class MembershipDecisionForm(FlaskForm):
    decision = SelectField(choices=choices(MEMBERSHIP_DECISIONS))


class SealForm(FlaskForm):
    seal = FileField(_l("Seal image"), validators=[FileRequired(_l("Choose an image."))],
                     description=_l("A PNG (ideally with a transparent background) or JPEG, up to 2 MB. It is "
                                    "printed on your certificates."))


class ImportForm(FlaskForm):
    file = FileField(_l("CSV or XLSX file"), validators=[FileRequired()])


class DirectoryForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Name"), validators=[Optional(), Length(max=NAME_MAX)])
    region = SelectField(_l("Region"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.region.choices = choices([("", _l("All regions")), *region_choices()])
