"""E-mail is printed until an SMTP server is named, then sent there."""

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("env", "backend"),
    [
        ({}, "core.mail.ConsoleEmailBackend"),
        ({"EMAIL_HOST": "smtp.example.com"}, "django.core.mail.backends.smtp.EmailBackend"),
    ],
)
def test_the_mail_backend_follows_email_host(env, backend):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EMAIL_")}
    out = subprocess.run(
        [sys.executable, "-c", "from config import settings; print(settings.EMAIL_BACKEND)"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == backend
