"""Loading and authorizing: the one contract every page and API endpoint follows (indico's ``RH`` handlers, as
decorators on function views).

A route that acts on an organization, an activity or a certificate named by its public code in the URL declares
it, and receives the object instead of the code::

    @bp.route("/organizations/<code>/entries")
    @login_required
    @loads_organization("ledger.decide")
    def entries(org): ...

The decorator loads the object, applies its visibility rule — what a caller may not know exists is not found
(404), for pages and the API alike — then checks the named permission over the object's organization
(Forbidden, 403). The caller is the API token's account on endpoints under ``token_required`` or
``token_optional`` (``g.api_user``, None without a token), otherwise the signed-in person; a page that names a
permission sends an anonymous visitor to sign in first, as ``login_required`` does. Refusals are DomainErrors,
so the app's handlers turn them into an error page or a JSON body, as for every other refusal.

Where the code does not come from the URL (a JSON body), or something must be refused before the object is
looked up, the view calls :func:`load_organization` itself. Nothing else calls ``visible_organization``
(tests/test_access_contract.py walks the URL map to hold every view to that). Services still authorize the actor
they are given (accounts/permissions.py): the check here is the early answer, theirs the one that always holds.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import current_app, g
from flask_login import current_user

from .accounts.permissions import PLATFORM_PERMISSIONS, require
from .activities.models import Activity
from .activities.queries import visible_activity
from .certificates.models import Certificate
from .certificates.queries import readable_certificate
from .organizations.models import Organization
from .organizations.queries import visible_organization


def request_user():
    """The account this request acts for: the API token's where an API decorator read one (None when the endpoint
    allows none and none was sent), otherwise the signed-in person (anonymous when nobody is)."""
    if "api_user" in g:
        return g.api_user
    return current_user


def load_organization(code: str, permission: str | None = None, user=None) -> Organization:
    """The organization with public code ``code`` as ``user`` (default: :func:`request_user`) may know it, and
    over which they hold ``permission`` when one is named. Raises NotFound where it does not exist for them,
    Forbidden where they may see it but lack the permission. A platform permission (``orgs.decide``,
    ``supervision.manage``) does not depend on the organization, so it is checked first: without it the caller
    learns nothing of the code (Forbidden), and with it they see every organization."""
    user = request_user() if user is None else user
    if permission in PLATFORM_PERMISSIONS:
        require(permission, user=user)
        return visible_organization(code, user)
    org = visible_organization(code, user)
    if permission is not None:
        require(permission, org, user=user)
    return org


def load_activity(code: str, permission: str | None = None, user=None) -> Activity:
    """The activity with public code ``code`` as ``user`` (default: :func:`request_user`) may know it (a draft, or
    an unapproved organization's, only for those who run its activities), and over whose organization they hold
    ``permission`` when one is named. Raises NotFound, then Forbidden, as :func:`load_organization`."""
    user = request_user() if user is None else user
    activity = visible_activity(code, user)
    if permission is not None:
        require(permission, activity.organization, user=user)
    return activity


def load_certificate(code: str, user=None) -> Certificate:
    """The certificate with public code ``code``, for the volunteer it certifies and the issuing organization's
    staff; NotFound for everyone else (its existence is not theirs to learn). What they may then do with it is the
    services' to decide (revoking, reissuing: ``certificates.issue``)."""
    user = request_user() if user is None else user
    return readable_certificate(code, user)


def _signed_in_first(view: Callable, needs_account: bool) -> Callable:
    """``view``, preceded by a redirect to the sign-in page for an anonymous visitor of a page when
    ``needs_account``. API endpoints answer for themselves: token_required refuses first, and under
    token_optional an anonymous caller simply lacks every permission (403)."""
    if not needs_account:
        return view

    @wraps(view)
    def wrapped(*args, **kwargs):
        if "api_user" not in g and not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        return view(*args, **kwargs)

    return wrapped


def loads_organization(permission: str | None = None, *, arg: str = "code") -> Callable:
    """Call the view with the organization named by the URL's ``arg`` (instead of that argument), loaded and
    authorized by :func:`load_organization`."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            org = load_organization(kwargs.pop(arg), permission)
            return view(org, *args, **kwargs)

        return _signed_in_first(wrapped, permission is not None)

    return decorator


def loads_activity(permission: str | None = None, *, arg: str = "code") -> Callable:
    """Call the view with the activity named by the URL's ``arg`` (instead of that argument), loaded and authorized
    by :func:`load_activity`."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            activity = load_activity(kwargs.pop(arg), permission)
            return view(activity, *args, **kwargs)

        return _signed_in_first(wrapped, permission is not None)

    return decorator


def loads_certificate(*, arg: str = "code") -> Callable:
    """Call the view with the certificate named by the URL's ``arg`` (instead of that argument), loaded by
    :func:`load_certificate`; an anonymous visitor of a page is sent to sign in first."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            return view(load_certificate(kwargs.pop(arg)), *args, **kwargs)

        return _signed_in_first(wrapped, True)

    return decorator
