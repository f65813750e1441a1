"""E-mail over SMTP (standard library): a plain-text part and an HTML part per message.

Outbox rows for this channel carry the plain text in `body` and `{"subject", "html"}` in the
payload. Connection problems and 4xx SMTP replies are worth a retry; a 5xx reply (unknown
mailbox, rejected sender) is permanent.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from typing import ClassVar

from bot.channels.base import OutgoingMessage, PermanentError, TransientError
from bot.core.config import SmtpSettings


class EmailChannel:
    name: ClassVar[str] = "email"

    def __init__(self, settings: SmtpSettings, *, timeout: float = 20.0) -> None:
        self.settings = settings
        self.timeout = timeout

    def build(self, message: OutgoingMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.settings.sender
        mail["To"] = message.recipient
        mail["Subject"] = str(message.payload.get("subject") or message.body.splitlines()[0])
        domain = self.settings.sender.rpartition("@")[2] or "localhost"
        mail["Message-ID"] = make_msgid(domain=domain)
        # Lets a receiving system recognise a resend of the same outbox row.
        mail["X-TrygtHjem-Idempotency-Key"] = message.idempotency_key
        mail.set_content(message.body)
        html = message.payload.get("html")
        if html:
            mail.add_alternative(str(html), subtype="html")
        return mail

    def send(self, message: OutgoingMessage) -> str:
        mail = self.build(message)
        s = self.settings
        try:
            with smtplib.SMTP(s.host, s.port, timeout=self.timeout) as smtp:
                if s.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.username and s.password:
                    smtp.login(s.username, s.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if any(400 <= code < 500 for code in codes):
                raise TransientError(f"recipient deferred: {exc.recipients}") from None
            raise PermanentError(f"recipient refused: {exc.recipients}",
                                 code=str(codes[0]) if codes else None) from None
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                raise PermanentError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}",
                                     code=str(exc.smtp_code)) from None
            raise TransientError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from None
        except (smtplib.SMTPException, OSError) as exc:  # OSError covers timeouts
            raise TransientError(f"SMTP connection failed: {type(exc).__name__}: {exc}") from None
        return str(mail["Message-ID"])[:64]  # the outbox column's width
