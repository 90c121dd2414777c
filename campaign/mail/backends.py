"""Mail backends. Each takes a rendered message dict and either returns or raises
TemporaryFailure (retry later) or PermanentFailure (give up)."""
from __future__ import annotations

import base64
import datetime as dt
import http.client
import smtplib
import ssl
import sys
import uuid
from email.header import Header
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import formatdate, make_msgid, parsedate_to_datetime
from pathlib import Path
from typing import Protocol

from flask import Flask

# How long a backend waits on the network before calling it a temporary failure: the
# worker delivers one message at a time, so a hung connection would stop all mail.
# The default of MAIL_TIMEOUT_SECONDS.
TIMEOUT_SECONDS = 20


class DeliveryFailure(Exception):
    pass


class TemporaryFailure(DeliveryFailure):
    """The receiving side may accept it later: retry with backoff, and not sooner than
    ``retry_after`` seconds when the receiving side said so (an HTTP Retry-After).

    ``relay_wide``: the answer says nothing about this mail, every mail would get it
    now (the relay or API is unreachable, out of service, or refuses our login or
    key), so the worker holds the rest back for a moment (outbox.services.MailPause)."""

    def __init__(self, *args, retry_after: float | None = None, relay_wide: bool = False):
        super().__init__(*args)
        self.retry_after = retry_after
        self.relay_wide = relay_wide


class PermanentFailure(DeliveryFailure):
    """Retrying cannot help (bad address, rejected request)."""


class MailBackend(Protocol):
    def send(self, message: dict) -> None: ...

    # Optional: let go of what send() kept open (the SMTP backend's connection).
    # def close(self) -> None: ...


class MailPolicy(EmailPolicy):
    """email.policy.default, but a non-ASCII Subject is encoded by email.header.Header.

    The default folder (CPython gh-144156; present in the 3.11 we run) splits a long
    non-ASCII subject into encoded words on several lines and leaves the space between
    words outside them, where readers must ignore it (RFC 2047): "أنت مدعو إلى Beirut
    Rights Group على «صوت»" arrived as "…Groupعلى…", and long Arabic subjects with
    words run together. Header puts the spaces inside the encoded words. Encoded words are valid under SMTPUTF8 too
    (utf8=True, for an address with a non-ASCII domain): one encoding for both."""

    def _encoded_subject(self, name: str, value) -> str | None:
        if name.lower() != "subject" or str(value).isascii():
            return None
        encoded = Header(str(value), "utf-8", maxlinelen=self.max_line_length, header_name=name)
        return f"{name}: {encoded.encode(linesep=self.linesep)}{self.linesep}"

    def fold(self, name, value):
        return self._encoded_subject(name, value) or super().fold(name, value)

    def fold_binary(self, name, value):
        folded = self._encoded_subject(name, value)
        return folded.encode("ascii") if folded else super().fold_binary(name, value)


MAIL_POLICY = MailPolicy()


def retry_after_seconds(value: str | None) -> float | None:
    """An HTTP Retry-After (RFC 9110: a number of seconds, or an HTTP date) as seconds
    from now; None when missing or unreadable, so the usual backoff applies."""
    value = (value or "").strip()
    if value.isdigit() and value.isascii():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": UTC by RFC 5322, as HTTP dates always are
        when = when.replace(tzinfo=dt.UTC)
    return max((when - dt.datetime.now(dt.UTC)).total_seconds(), 0.0)


def attachment_bytes(attachment: dict) -> tuple[bytes, str, str]:
    """An attachment of a queued message as (bytes, maintype, subtype). Payloads are
    JSON: a CSV is text, a PDF travels as base64 ("content_base64")."""
    if "content_base64" in attachment:
        maintype, _, subtype = attachment.get("type", "application/pdf").partition("/")
        return base64.b64decode(attachment["content_base64"]), maintype, subtype
    # CSV for spreadsheets: UTF-8 with a BOM, or Excel garbles Arabic.
    return attachment["content"].encode("utf-8-sig"), "text", "csv"

def build_email(message: dict, sender: str) -> EmailMessage:
    """A multipart text+HTML message; headers carry nothing that tracks the reader."""
    email = EmailMessage(policy=MAIL_POLICY)
    email["From"] = sender
    email["To"] = message["to"]
    email["Subject"] = message["subject"]
    email["Date"] = formatdate(localtime=False)
    # The outbox gives each message one Message-ID for all its attempts (a copy sent
    # again after a crash is then recognisable); make one only for mail sent directly.
    email["Message-ID"] = message.get("message_id") or make_msgid(domain=sender.rsplit("@", 1)[-1].strip(">") or None)
    for name, value in (message.get("headers") or {}).items():
        email[name] = value
    if message.get("reply_to"):
        email["Reply-To"] = message["reply_to"]
    email.set_content(message["text"])
    if message.get("html"):
        email.add_alternative(message["html"], subtype="html")
    for attachment in message.get("attachments") or []:
        data, maintype, subtype = attachment_bytes(attachment)
        email.add_attachment(data, maintype=maintype, subtype=subtype, filename=attachment["filename"])
    # After the content: set_content() and add_alternative() drop Content-* headers.
    email["Content-Language"] = message.get("locale", "en")
    return email


class ConsoleBackend:
    """Prints each message to the terminal: the embedded default, so a newcomer can
    follow a confirmation link without any mail server."""

    def __init__(self, app: Flask, stream=None):
        self.sender = app.config["MAIL_FROM"]
        self.stream = stream

    def send(self, message: dict) -> None:
        stream = self.stream or sys.stdout
        bar = "─" * 72
        stream.write(
            f"\n{bar}\nMessage-ID: {message.get('message_id', '')}\nTo: {message['to']}\nSubject: {message['subject']}\n\n{message['text']}\n{bar}\n"
        )
        stream.flush()


class FileBackend:
    """Writes each message as an .eml file into MAIL_FILE_DIR."""

    def __init__(self, app: Flask):
        self.sender = app.config["MAIL_FROM"]
        self.directory = Path(app.config["MAIL_FILE_DIR"])

    def send(self, message: dict) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{uuid.uuid4().hex}.eml"
        path.write_bytes(bytes(build_email(message, self.sender)))


class SMTPBackend:
    """One connection carries the messages that follow each other (a relay's greeting,
    TLS handshake and login cost more than a message: after a surge, thousands of
    confirmations wait their turn). It is checked with NOOP before each reuse, dropped
    after any failure, so that nothing carries over to the next message, and closed
    by close() when the worker has nothing more to send."""

    def __init__(self, app: Flask):
        cfg = app.config
        self.sender = cfg["MAIL_FROM"]
        self.host, self.port = cfg["SMTP_HOST"], cfg["SMTP_PORT"]
        self.username, self.password = cfg["SMTP_USERNAME"], cfg["SMTP_PASSWORD"]
        self.starttls = cfg["SMTP_STARTTLS"]
        self.timeout = cfg.get("MAIL_TIMEOUT_SECONDS", TIMEOUT_SECONDS)
        self._smtp: smtplib.SMTP | None = None

    def _connection(self) -> tuple[smtplib.SMTP, bool]:
        """The connection to send over, and whether it was opened just now: greeted,
        EHLO, STARTTLS and login done, so that nothing but this mail's own commands
        (MAIL FROM, RCPT, DATA) is left for send_message."""
        if self._smtp is not None:
            try:
                if self._smtp.noop()[0] == 250:
                    return self._smtp, False
            except (smtplib.SMTPException, OSError):
                pass  # the relay let an idle connection go: open another
            self._drop()
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls:
                # smtplib's default context checks neither the certificate nor the
                # host name: anyone on the path could pose as the relay.
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.ehlo_or_helo_if_needed()
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return smtp, True

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def close(self) -> None:
        """Say goodbye to the relay, if a connection is open."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def send(self, message: dict) -> None:
        email = build_email(message, self.sender)
        try:
            smtp, fresh = self._connection()
        except smtplib.SMTPResponseException as exc:
            # Refused at the greeting, HELO, STARTTLS or our login: before this mail
            # was named, so every mail gets that answer, 4xx or 5xx. The relay is out
            # of service or misconfigured, not this mail wrong: wait for the operator
            # (as for a SendGrid key), never give up on everything queued.
            raise TemporaryFailure(f"SMTP {exc.smtp_code}", relay_wide=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # Refused, timed out, or no STARTTLS or login the relay would take.
            raise TemporaryFailure(f"SMTP connection: {type(exc).__name__}", relay_wide=True) from exc
        try:
            try:
                smtp.send_message(email)
            except BaseException:
                self._drop()
                raise
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(400 <= code < 500 for code in codes):
                raise TemporaryFailure(f"recipient deferred ({codes})") from exc
            raise PermanentFailure(f"recipient refused ({codes})") from exc
        except smtplib.SMTPDataError as exc:
            # The message itself was refused (content, policy): 5xx is final.
            if 400 <= exc.smtp_code < 500:
                raise TemporaryFailure(f"SMTP {exc.smtp_code}") from exc
            raise PermanentFailure(f"SMTP {exc.smtp_code}") from exc
        except smtplib.SMTPResponseException as exc:
            # Our sender address refused, before any recipient was named: every mail
            # gets that answer too (see above). Except 552: the size announced with
            # MAIL FROM (RFC 1870) is too big, which is this mail's own. Relay-wide
            # only on a connection opened for this mail: on one that carried others,
            # it may be that connection's limit ("421 too many messages"), and the
            # next mail, on a new connection, will tell.
            if isinstance(exc, smtplib.SMTPSenderRefused) and exc.smtp_code == 552:
                raise PermanentFailure(f"SMTP {exc.smtp_code}") from exc
            raise TemporaryFailure(f"SMTP {exc.smtp_code}", relay_wide=fresh) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # Cut off or timed out while sending this mail (or, SMTPNotSupportedError,
            # an address that needs SMTPUTF8 the relay lacks): not known to be the relay's.
            raise TemporaryFailure(f"SMTP connection: {type(exc).__name__}") from exc


class SendGridBackend:
    """SendGrid's v3 API, with click and open tracking off: no rewritten links, no pixel."""

    def __init__(self, app: Flask):
        from sendgrid import SendGridAPIClient

        self.sender = app.config["MAIL_FROM"]
        self.timeout = app.config.get("MAIL_TIMEOUT_SECONDS", TIMEOUT_SECONDS)
        self.client = SendGridAPIClient(
            api_key=app.config["SENDGRID_API_KEY"], host=app.config["SENDGRID_API_HOST"]
        )

    def send(self, message: dict) -> None:
        from python_http_client.exceptions import HTTPError
        from sendgrid.helpers.mail import (
            Attachment,
            ClickTracking,
            Disposition,
            FileContent,
            FileName,
            FileType,
            From,
            Header,
            Mail,
            OpenTracking,
            ReplyTo,
            SubscriptionTracking,
            TrackingSettings,
        )

        name, _, address = self.sender.rpartition("<")
        mail = Mail(
            from_email=From(address.rstrip(">").strip() or self.sender, name.strip() or None),
            to_emails=message["to"],
            subject=message["subject"],
            plain_text_content=message["text"],
            html_content=message.get("html") or None,
        )
        tracking = TrackingSettings()
        tracking.click_tracking = ClickTracking(enable=False, enable_text=False)
        tracking.open_tracking = OpenTracking(enable=False)
        tracking.subscription_tracking = SubscriptionTracking(enable=False)
        mail.tracking_settings = tracking
        if message.get("reply_to"):
            mail.reply_to = ReplyTo(message["reply_to"])
        for attachment in message.get("attachments") or []:
            data, maintype, subtype = attachment_bytes(attachment)
            mail.add_attachment(Attachment(
                FileContent(base64.b64encode(data).decode("ascii")),
                FileName(attachment["filename"]), FileType(f"{maintype}/{subtype}"), Disposition("attachment"),
            ))
        for name, value in (message.get("headers") or {}).items():
            mail.header = Header(name, value)
        if message.get("message_id"):
            mail.header = Header("Message-ID", message["message_id"])
        try:
            # Not client.send(): it cannot pass a timeout, and the client's default is none.
            self.client.client.mail.send.post(request_body=mail.get(), timeout=self.timeout)
        except HTTPError as exc:
            status = getattr(exc, "status_code", 0) or 0
            # 401/403 mean our key is wrong or revoked, not that the recipient is:
            # keep the mail queued until an operator fixes the key. Like 429 and 5xx,
            # they are about our account or the API, never this mail: every mail would
            # get the same answer now.
            if status in (401, 403, 429) or status >= 500:
                # Throttled or unavailable: SendGrid may say when to come back.
                said = (getattr(exc, "headers", None) or {}).get("Retry-After") if status in (429, 503) else None
                raise TemporaryFailure(f"SendGrid {status}", retry_after=retry_after_seconds(said),
                                       relay_wide=True) from exc
            raise PermanentFailure(f"SendGrid {status}") from exc
        except (OSError, http.client.HTTPException) as exc:
            # HTTPException: an answer cut short or garbled (IncompleteRead, BadStatusLine).
            raise TemporaryFailure(f"SendGrid connection: {type(exc).__name__}", relay_wide=True) from exc


BACKENDS = {
    "console": ConsoleBackend,
    "file": FileBackend,
    "smtp": SMTPBackend,
    "sendgrid": SendGridBackend,
}


def backend_for(app: Flask) -> MailBackend:
    name = app.config["MAIL_BACKEND"]
    if name not in BACKENDS:
        raise RuntimeError(f"MAIL_BACKEND must be one of {', '.join(BACKENDS)}, not {name!r}")
    return BACKENDS[name](app)
