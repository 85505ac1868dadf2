"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it accepted.

`replies` maps a recipient to the reply the server gives it at RCPT time (for example
"550 5.1.1 No such user" or "451 4.7.1 Greylisted, try again later"), so tests can see how a
sender treats a permanent and a temporary refusal.
"""

from __future__ import annotations

import socket
from email import message_from_bytes
from email.message import Message

from aiosmtpd.controller import Controller


class FakeSmtp:
    def __init__(self) -> None:
        self.received: list[tuple[list[str], Message]] = []
        self.replies: dict[str, str] = {}
        outer = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                reply = outer.replies.get(address.lower())
                if reply:
                    return reply
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                message = message_from_bytes(envelope.content)
                outer.received.append((list(envelope.rcpt_tos), message))
                return "250 OK"

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
