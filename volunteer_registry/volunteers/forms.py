"""Shape checks only; identity rules live in services."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..forms import choices
from ..regions import region_choices
from ..schema import validators_for
from .schemas import GENDERS, ID_NUMBER_TYPED_MAX, ID_TYPES, PHONE_MAX, VOLUNTEER_PROFILE


class VolunteerForm(FlaskForm):
    name = StringField(_l("Full name"), validators=validators_for(VOLUNTEER_PROFILE, "name"),
                       description=_l("As it appears on your ID document."), render_kw={"autocomplete": "name"})
    gender = RadioField(_l("Gender"), validators=[DataRequired()])
    birth_date = DateField(_l("Date of birth"), validators=[DataRequired()], render_kw={"autocomplete": "bday"})
    id_type = SelectField(_l("ID document"), default="resident_id")
    id_number = StringField(_l("ID document number"), validators=[DataRequired(), Length(max=ID_NUMBER_TYPED_MAX)],
                            description=_l("Stored encrypted; others see only the first 6 and last 4 characters."),
                            render_kw={"autocomplete": "off", "spellcheck": "false"})
    phone = StringField(_l("Mobile number"), validators=[DataRequired(), Length(max=PHONE_MAX)],
                        render_kw={"inputmode": "tel", "autocomplete": "tel"})
    email = StringField(_l("Email (optional)"), validators=validators_for(VOLUNTEER_PROFILE, "email"),
                        render_kw={"inputmode": "email", "autocomplete": "email"})
    national_number = StringField(
        _l("National volunteer number (optional)"), validators=validators_for(VOLUNTEER_PROFILE, "national_number"),
        description=_l("The volunteer number that the national volunteer service information system "
                       "(全国志愿服务信息系统的志愿者编号) gave you, if you are registered there. Spaces and hyphens "
                       "are ignored. It is printed on your certificates."),
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"})
    region_code = SelectField(_l("Where you live"), validators=[DataRequired()])
    skills = TextAreaField(_l("Skills (optional)"), validators=validators_for(VOLUNTEER_PROFILE, "skills"),
                           description=_l("For example: first aid, sign language, driving, Tibetan."))
    guardian_name = StringField(_l("Guardian's name (under 14 only)"),
                                validators=validators_for(VOLUNTEER_PROFILE, "guardian_name"))
    guardian_consent = BooleanField(_l("The guardian agrees to this registration (under 14 only)"))
    consent = BooleanField(_l("I agree that my volunteer service record (personal information, service, training, "
                              "awards and evaluations) is kept by the organizations I serve with and the "
                              "civil-affairs department, and shown to nobody else without my consent."),
                           validators=[DataRequired(_l("You must agree to continue."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.gender.choices = choices(GENDERS)
        self.id_type.choices = choices(ID_TYPES)
        self.region_code.choices = choices([("", _l("Choose…")), *region_choices()])
