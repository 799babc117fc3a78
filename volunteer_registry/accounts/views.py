from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..errors import apply_to_form
from ..extensions import db, limiter
from ..forms import ConfirmForm
from ..security import is_safe_next
from ..text import check_plain_text
from . import bp
from .deletion import delete_account
from .forms import (
    DeleteAccountForm,
    FinishSignupForm,
    ForgotPasswordForm,
    LoginForm,
    PreferencesForm,
    ResetPasswordForm,
    SignupForm,
    TokenForm,
)
from .services import (
    AccountError,
    authenticate,
    create_account_by_link,
    create_api_token,
    request_password_reset,
    request_signup,
    reset_password_by_link,
    revoke_api_token,
    signup_link,
    user_for_reset_token,
)
from .sessions import end_every_session, end_session, new_sign_in


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _reset_limit() -> str:
    return current_app.config["RESET_RATE_LIMIT"]


def _identifier_key() -> str:
    return "identifier:" + request.form.get("identifier", "").strip().lower()


def _start_session(user, remember: bool = False) -> None:
    """Sign in with a fresh session (no fixation) and a new sign-in (accounts/sessions.py), keeping only the chosen
    language and the kiosk QR the person opened just before (checkin.views.kiosk_scan: it was checked fresh then, and
    signing in must not make it stale). A sign-in this browser already had is ended on the server first. The caller
    commits."""
    if current_user.is_authenticated:
        end_session(current_user)
    kept = {key: session[key] for key in ("lang", "kiosk") if session.get(key)}
    session.clear()
    session.update(kept)
    new_sign_in(user)
    login_user(user, remember=remember)
    if not remember and _remember_cookie() in request.cookies:
        session["_remember"] = "clear"  # an earlier sign-in's remember-me cookie goes too


def _remember_cookie() -> str:
    return current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")


def _forget_browser_session() -> None:
    """Sign this browser out: the session emptied and the remember-me cookie deleted (Flask-Login deletes it when
    the session says "clear"; emptying the session after logout_user would lose that)."""
    logout_user()
    session.clear()
    session["_remember"] = "clear"


def _next_url(default: str) -> str:
    target = request.args.get("next") or request.form.get("next")
    return target if is_safe_next(target) else default


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_reset_limit, methods=["POST"], key_func=_identifier_key)
def signup():
    """The first step: a link to the address or number (or, when it already has an account, a note to its owner).
    The answer is the same either way."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            request_signup(form.identifier.data, locale=session.get("lang"), next_path=_next_url(""))
        except AccountError as error:
            apply_to_form(error, form) or form.identifier.errors.append(error.message)
        else:
            db.session.commit()
            flash(_("We have sent a message to %(identifier)s: open the link in it to finish signing up.",
                    identifier=form.identifier.data.strip()), "info")
            return redirect(url_for("accounts.signup_sent"))
    return render_template("accounts/signup.html", form=form, next=_next_url(""))


@bp.route("/signup/sent")
def signup_sent():
    return render_template("accounts/signup_sent.html", hours=current_app.config["SIGNUP_LINK_MAX_AGE"] // 3600)


@bp.route("/signup/<token>", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def finish_signup(token: str):
    """The second step, from the link: choose a password; the account is created and signed in."""
    try:
        identifier, _locale, _next = signup_link(token)
    except AccountError as error:
        return render_template("accounts/finish_signup.html", form=None, error=error.message), 400
    form = FinishSignupForm()
    if form.validate_on_submit():
        try:
            user, next_path = create_account_by_link(token, form.password.data)
        except AccountError as error:
            if not apply_to_form(error, form):
                return render_template("accounts/finish_signup.html", form=None, error=error.message), 400
        else:
            _start_session(user)
            db.session.commit()
            flash(_("Welcome! Your account is ready. Next, complete your volunteer profile."), "success")
            return redirect(next_path if is_safe_next(next_path) else url_for("volunteers.profile"))
    return render_template("accounts/finish_signup.html", form=form, identifier=identifier, error=None)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_identifier_key)
def login():
    if current_user.is_authenticated:
        return redirect(_next_url(url_for("home.index")))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate(form.identifier.data, form.password.data)
        except AccountError as error:
            db.session.commit()  # the wrong password is counted towards the lock
            form.password.errors.append(error.message)
        else:
            _start_session(user, remember=form.remember.data)
            db.session.commit()
            return redirect(_next_url(url_for("home.index")))
    return render_template("accounts/login.html", form=form, next=_next_url(""))


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out: this sign-in ends on the server too, so a copy of its session or remember-me cookie stops working.
    The account's other sign-ins go on."""
    if ConfirmForm().validate_on_submit():
        if current_user.is_authenticated:
            end_session(current_user)
            db.session.commit()
        _forget_browser_session()
        flash(_("You are signed out."), "info")
    return redirect(url_for("home.index"))


@bp.route("/account/sign-out-everywhere", methods=["POST"])
@login_required
def sign_out_everywhere():
    """End every sign-in of the account, on every device, this one included (and outstanding reset links)."""
    if ConfirmForm().validate_on_submit():
        end_every_session(current_user)
        db.session.commit()
        _forget_browser_session()
        flash(_("You are signed out on every device, this one included."), "info")
        return redirect(url_for("accounts.login"))
    return redirect(url_for("accounts.account"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        request_password_reset(form.identifier.data)
        db.session.commit()
        flash(_("If an account exists for %(identifier)s, a reset link is on its way.",
                identifier=form.identifier.data.strip()), "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def reset_password(token: str):
    try:
        user = user_for_reset_token(token)
    except AccountError as error:
        return render_template("accounts/reset_password.html", form=None, error=error.message), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = reset_password_by_link(token, form.password.data, revoke_api_tokens=form.revoke_tokens.data)
        except AccountError as error:
            if not apply_to_form(error, form):  # the link was used meanwhile, by another request
                return render_template("accounts/reset_password.html", form=None, error=error.message), 400
        else:
            _start_session(user)
            db.session.commit()
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("home.index"))
    return render_template("accounts/reset_password.html", form=form, error=None)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    preferences = PreferencesForm(locale=current_user.locale or session.get("lang") or "en",
                                  display_name=current_user.display_name)
    if preferences.validate_on_submit():
        current_user.locale = preferences.locale.data
        # the form's PlainText validator has refused what check_plain_text refuses; this keeps it NFC
        current_user.display_name = " ".join(check_plain_text(preferences.display_name.data).split()) or None
        session["lang"] = preferences.locale.data
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("accounts.account"))
    return _account_page(preferences=preferences)


def _account_page(*, preferences=None, token_form=None, delete_form=None, new_token=None, status=200):
    """The account page with its forms, each blank unless given."""
    return render_template(
        "accounts/account.html", preferences=PreferencesForm() if preferences is None else preferences,
        token_form=TokenForm(formdata=None) if token_form is None else token_form, confirm=ConfirmForm(),
        new_token=new_token, delete_form=DeleteAccountForm(formdata=None) if delete_form is None else delete_form,
    ), status


@bp.route("/account/tokens", methods=["POST"])
@login_required
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return _account_page(token_form=form, status=422)
    _token, plaintext = create_api_token(current_user, form.name.data)
    db.session.commit()
    return _account_page(new_token=plaintext)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    if ConfirmForm().validate_on_submit():
        revoke_api_token(current_user, token_id)
        db.session.commit()
        flash(_("The token is revoked."), "info")
    return redirect(url_for("accounts.account"))


@bp.route("/account/delete", methods=["POST"])
@login_required
def delete():
    """Delete the account (accounts/deletion.py): the password again, and a box ticked."""
    form = DeleteAccountForm()
    if form.validate_on_submit():
        try:
            delete_account(current_user, form.password.data)
        except AccountError as error:
            if not apply_to_form(error, form):
                flash(error.message, "error")
        else:
            db.session.commit()
            _forget_browser_session()
            flash(_("Your account is deleted. Your service hours and certificates stay on record, without your "
                    "name."), "info")
            return redirect(url_for("home.index"))
    return _account_page(delete_form=form, status=422)
