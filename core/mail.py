"""E-mail printed in the terminal (`make run` until EMAIL_HOST is set), readable there.

Django's console backend prints the whole MIME message: the scorecard's PDF comes out as
hundreds of lines of base64 and its HTML as quoted-printable. This one prints the headers,
the plain-text part as it reads, and one line for each of the rest:
"[attachment scorecard-x.pdf, application/pdf, 48 KB]".
"""

from __future__ import annotations

from email.header import decode_header, make_header
from email.message import Message

from django.core.mail.backends.console import EmailBackend

# The MIME plumbing, said by the summary lines instead.
SKIPPED_HEADERS = {"content-type", "mime-version", "content-transfer-encoding"}


def size_text(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{round(n / 1024)} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def _header(value: str) -> str:
    return str(make_header(decode_header(value)))


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True) or b""
    return payload.decode(part.get_content_charset() or "utf-8", errors="replace")


def message_summary(msg: Message, *, bcc: list[str] = ()) -> str:
    """The message as a person would read it in a terminal."""
    lines = [
        f"{name}: {_header(value)}"
        for name, value in msg.items()
        if name.lower() not in SKIPPED_HEADERS
    ]
    if bcc:
        lines.append(f"Bcc: {', '.join(bcc)}")
    lines.append("")
    for part in msg.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        size = size_text(len(part.get_payload(decode=True) or b""))
        filename = part.get_filename()
        if filename or part.get_content_disposition() == "attachment":
            lines.append(f"[attachment {_header(filename or 'unnamed')}, {kind}, {size}]")
        elif kind == "text/plain":
            lines.append(_text(part).rstrip("\n"))
        else:
            lines.append(f"[{kind} part, {size}]")
    return "\n".join(lines)


class ConsoleEmailBackend(EmailBackend):
    """Django's console backend, with attachments and HTML summarised in one line each."""

    def write_message(self, message):
        self.stream.write(message_summary(message.message(), bcc=message.bcc) + "\n")
        self.stream.write("-" * 79 + "\n")
