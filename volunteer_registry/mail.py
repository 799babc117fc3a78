"""Outgoing messages: email and short messages.

Backends: "console" writes the message to the log (development), "smtp" sends email through MAIL_SERVER,
"memory" keeps messages in ``app.extensions["outbox"]`` (tests). Short messages go to the log until a provider is
configured.
"""
from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from flask import current_app


@dataclass
class Message:
    channel: str  # "email" or "sms"
    to: str
    subject: str
    body: str


def _deliver(message: Message) -> None:
    app = current_app._get_current_object()
    backend = app.config["MAIL_BACKEND"]
    if backend == "memory":
        app.extensions.setdefault("outbox", []).append(message)
    elif backend == "smtp" and message.channel == "email":
        email = EmailMessage()
        email["From"] = app.config["MAIL_SENDER"]
        email["To"] = message.to
        email["Subject"] = message.subject
        email.set_content(message.body)
        with smtplib.SMTP(app.config["MAIL_SERVER"], app.config["MAIL_PORT"], timeout=10) as smtp:
            if app.config["MAIL_USE_TLS"]:
                smtp.starttls()
            if app.config["MAIL_USERNAME"]:
                smtp.login(app.config["MAIL_USERNAME"], app.config["MAIL_PASSWORD"])
            smtp.send_message(email)
    else:
        app.logger.warning("[%s to %s] %s\n%s", message.channel, message.to, message.subject, message.body)


def send_email(to: str, subject: str, body: str) -> None:
    _deliver(Message("email", to, subject, body))


def send_sms(to: str, body: str) -> None:
    _deliver(Message("sms", to, "", body))
