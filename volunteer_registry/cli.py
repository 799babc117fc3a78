"""Registers every part's `flask` command group."""
from flask import Flask


def register(app: Flask) -> None:
    from .accounts.cli import accounts_cli
    from .activities.cli import shifts_cli
    from .backup.cli import backup_cli
    from .certificates.cli import certificates_cli
    from .demo.cli import demo_cli
    from .exchange.cli import exchange_cli, peers_cli, records_cli
    from .keys.cli import keys_cli
    from .ledger.cli import ledger_cli
    from .notifications.cli import notifications_cli
    from .organizations.cli import volunteers_cli

    for group in (accounts_cli, backup_cli, certificates_cli, demo_cli, exchange_cli, keys_cli, ledger_cli,
                  notifications_cli, peers_cli, records_cli, shifts_cli, volunteers_cli):
        app.cli.add_command(group)
