"""Outgoing messages: email and short messages.

Backends: "console" writes the message to the log (development), "smtp" sends email through MAIL_SERVER,
"memory" keeps messages in ``app.extensions["outbox"]`` (tests). Short messages go to the log until a provider is
configured: a provider's backend sends through its API in ``_deliver`` and calls ``handing_over`` just before the
request that hands the message over.

``handing_over``, when given, is called at the last moment the message can still be held back: for SMTP after
the server has agreed to take the message's data and before its last byte (RFC 5321's end-of-data dot) is sent.
The notifications' worker records it, so that after a crash it knows which messages may have left (and must not be
sent twice) and which cannot have (and are sent again). If it raises, nothing is handed over.
"""
from __future__ import annotations

import re
import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage

from flask import current_app

#: a server's explicit refusal: the message was not taken, even after it was handed over (a retry is safe)
REFUSALS = (smtplib.SMTPResponseException,)


@dataclass
class Message:
    channel: str  # "email" or "sms"
    to: str
    subject: str
    body: str
    headers: dict = field(default_factory=dict)  # more email headers: Message-ID, List-Unsubscribe


def _email_of(message: Message, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    for name, value in message.headers.items():
        email[name] = value
    email.set_content(message.body)
    return email


def _smtp_send(app, message: Message, handing_over: Callable[[], None] | None) -> None:
    sender = app.config["MAIL_SENDER"]
    data = _email_of(message, sender).as_bytes(policy=policy.SMTP)
    with smtplib.SMTP(app.config["MAIL_SERVER"], app.config["MAIL_PORT"], timeout=10) as smtp:
        smtp.ehlo()
        if app.config["MAIL_USE_TLS"]:
            smtp.starttls()
            smtp.ehlo()
        if app.config["MAIL_USERNAME"]:
            smtp.login(app.config["MAIL_USERNAME"], app.config["MAIL_PASSWORD"])
        if handing_over is None:
            smtp.sendmail(sender, [message.to], data)
            return
        # smtplib's sendmail, step by step, to mark the moment before the end of the data
        code, reply = smtp.mail(sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        code, reply = smtp.rcpt(message.to)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({message.to: (code, reply)})
        code, reply = smtp.docmd("data")
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        try:
            handing_over()
        except BaseException:
            smtp.close()  # the server drops a transaction whose data never ended
            raise
        stuffed = re.sub(rb"(?m)^\.", b"..", data)
        smtp.send(stuffed + (b"" if stuffed.endswith(b"\r\n") else b"\r\n") + b".\r\n")
        code, reply = smtp.getreply()
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)


def _deliver(message: Message, handing_over: Callable[[], None] | None = None) -> None:
    app = current_app._get_current_object()
    backend = app.config["MAIL_BACKEND"]
    if backend == "smtp" and message.channel == "email":
        _smtp_send(app, message, handing_over)
        return
    if handing_over is not None:
        handing_over()
    if backend == "memory":
        app.extensions.setdefault("outbox", []).append(message)
    else:
        app.logger.warning("[%s to %s] %s\n%s", message.channel, message.to, message.subject, message.body)


def send_email(to: str, subject: str, body: str, *, headers: dict | None = None,
               handing_over: Callable[[], None] | None = None) -> None:
    _deliver(Message("email", to, subject, body, headers or {}), handing_over)


def send_sms(to: str, body: str, *, handing_over: Callable[[], None] | None = None) -> None:
    _deliver(Message("sms", to, "", body), handing_over)
