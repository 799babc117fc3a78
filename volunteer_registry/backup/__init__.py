"""Backups of the whole database, with a manifest naming the ledger's latest signed checkpoint."""
