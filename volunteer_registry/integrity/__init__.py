"""Integrity of what enters the ledger: who may decide a record, and which records are plausible.

The ledger proves that a record was not changed after it was written; these rules make it honest when written.
``rules.py`` holds the pure decisions and the limits (one declaration each); ``services.py`` gathers the facts,
enforces them for every part (pages, API and CLI call the same services) and audits every refusal.
"""
