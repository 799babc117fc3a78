from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo

from ..forms import choices
from ..i18n import LANGUAGE_NAMES
from ..schema import validators_for
from .schemas import API_TOKEN, CREDENTIALS, PREFERENCES


class SignupForm(FlaskForm):
    identifier = StringField(_l("Email address or mobile number"), validators=validators_for(CREDENTIALS, "identifier"),
                             description=_l("We send a link there: open it to choose your password."),
                             render_kw={"autocomplete": "username"})


class FinishSignupForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=validators_for(CREDENTIALS, "password"),
                             description=_l("At least 10 characters."), render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat the password"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
                            render_kw={"autocomplete": "new-password"})


class LoginForm(FlaskForm):
    identifier = StringField(_l("Email address or mobile number"), validators=validators_for(CREDENTIALS, "identifier"),
                             render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=validators_for(CREDENTIALS, "password"),
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField(_l("Keep me signed in on this device"))


class ForgotPasswordForm(FlaskForm):
    identifier = StringField(_l("Email address or mobile number"), validators=validators_for(CREDENTIALS, "identifier"))


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=validators_for(CREDENTIALS, "password"),
                             description=_l("At least 10 characters."), render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
                            render_kw={"autocomplete": "new-password"})
    revoke_tokens = BooleanField(_l("Also revoke every API token (scanners and scripts signed in as you)"),
                                 default=True)


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=validators_for(API_TOKEN, "name"),
                       description=_l("For example: the scanner tablet at the community centre."))


class PreferencesForm(FlaskForm):
    display_name = StringField(_l("Your name"), validators=validators_for(PREFERENCES, "display_name"),
                               description=_l("Your real name. It is printed as the handler on the certificates you "
                                              "issue."), render_kw={"autocomplete": "name"})
    locale = SelectField(_l("Language"), choices=choices(LANGUAGE_NAMES))


class DeleteAccountForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=validators_for(CREDENTIALS, "password"),
                             render_kw={"autocomplete": "current-password"})
    understood = BooleanField(_l("I understand that my account and personal details are deleted for good, and "
                                 "that my service hours and certificates stay on record under an anonymous name."),
                              validators=[DataRequired(_l("Tick the box to confirm."))])
