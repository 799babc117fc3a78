import click
from flask.cli import AppGroup

from ..errors import DomainError
from ..extensions import db
from .services import create_account, create_api_token, find_user

accounts_cli = AppGroup("accounts", help="Accounts and API tokens.")


def _create(email: str, password: str, admin: bool) -> None:
    try:
        user = create_account(email, password, is_platform_admin=admin)
    except DomainError as error:
        raise click.ClickException(f"{error.code}: {error.message}") from None
    db.session.commit()
    click.echo(f"Created {'platform admin' if admin else 'account'} {user.identifier}.")


@accounts_cli.command("create-admin")
@click.option("--email", required=True, help="Email address (or mobile number) to sign in with.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_admin(email: str, password: str):
    """Create a platform admin (civil-affairs staff)."""
    _create(email, password, True)


@accounts_cli.command("create")
@click.option("--email", required=True, help="Email address (or mobile number) to sign in with.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create(email: str, password: str):
    """Create an ordinary account."""
    _create(email, password, False)


@accounts_cli.command("create-token")
@click.option("--email", required=True, help="The account the token acts for.")
@click.option("--name", default="CLI token", show_default=True)
def create_token(email: str, name: str):
    """Print a new API token for the account (only the token, on one line)."""
    user = find_user(email)
    if user is None:
        raise click.ClickException(f"No account {email}.")
    try:
        _token, plaintext = create_api_token(user, name)
    except DomainError as error:  # a name that could spoof (text_*)
        raise click.ClickException(f"{error.code}: {error.message}") from None
    db.session.commit()
    click.echo(plaintext)
