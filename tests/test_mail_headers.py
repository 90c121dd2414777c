"""Mail headers as they leave for the SMTP server and the .eml files: a long
subject in Arabic, or mixing Arabic and Latin, keeps every space."""
from __future__ import annotations

import email
import io
from email import policy
from email.generator import BytesGenerator

import pytest

from campaign.mail.backends import build_email

SUBJECTS = [
    "أنت مدعو إلى Beirut Rights Group على «صوت»",
    "أطلقوا سراح المدافعين عن حقوق الإنسان والمعتقلين السياسيين في كل السجون الآن",
    "You are invited to منظمة بيروت لحقوق الإنسان والدفاع عن المعتقلين on Sawt",
    "[تجربة] أخبار النداء",
]


def as_sent_by_smtplib(message) -> bytes:
    """Serialised as smtplib.SMTP.send_message does, without SMTPUTF8."""
    out = io.BytesIO()
    BytesGenerator(out, policy=message.policy.clone(linesep="\r\n")).flatten(message, linesep="\r\n")
    return out.getvalue()


@pytest.mark.parametrize("subject", SUBJECTS)
def test_subject_survives_folding(subject):
    message = build_email({"to": "layla@mail.example", "subject": subject, "text": "نص\n", "locale": "ar"},
                          "Sawt <noreply@sawt.example>")
    for raw in (bytes(message), as_sent_by_smtplib(message)):
        headers = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
        assert headers.isascii(), "headers are 7-bit without SMTPUTF8"
        assert max(len(line) for line in headers.split(b"\n")) <= 78
        assert email.message_from_bytes(raw, policy=policy.default)["Subject"] == subject


def test_subject_survives_smtputf8():
    """smtplib serialises with utf8=True when an address has a non-ASCII domain."""
    subject = SUBJECTS[1]
    message = build_email({"to": "layla@mail.example", "subject": subject, "text": "x\n"}, "noreply@sawt.example")
    out = io.BytesIO()
    BytesGenerator(out, policy=message.policy.clone(utf8=True)).flatten(message)
    assert email.message_from_bytes(out.getvalue(), policy=policy.default)["Subject"] == subject
