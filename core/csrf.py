"""CSRF protection for the visitor's run that survives a cross-site frame without cookies.

Django's CSRF check compares a token in the form with a cookie. A quiz embedded on
another site runs in a third-party frame, where that cookie is never sent (it is
SameSite=Lax) or never kept (third-party cookies blocked), so every answer would be
refused with 403. `run_csrf_protect` keeps Django's check whenever the CSRF cookie
came with the request, and only when it did not accepts a POST that proves, instead:

1. it comes from one of our own pages: the browser's `Origin` header is this site's
   origin exactly (Django's middleware refuses any other origin before we get here;
   we also require the header, which every current browser sends on a POST, and refuse
   `null`), and `Sec-Fetch-Site`, when the browser sends it, is `same-origin`. A page
   on another site cannot make a browser send either: a forged cross-site form or
   fetch carries the attacker's origin and `cross-site`;
2. it carries the run's token, signed by this server for the run it posts to (the
   `run_token` field, `run_csrf_input`): `run:<attempt token>` for a step or the lead
   form, `start:<quiz slug>` for the start form, at most a day old.

Why that is still safe: CSRF needs a page on another site to make the visitor's
browser send a request that our server takes as the visitor's. The Origin and Fetch
Metadata headers are set by the browser and cannot be set by page scripts, so (1)
alone refuses every cross-site request; (2) binds the form to the run it was rendered
for. Beyond that, the run's pages are addressed by an unguessable token in their URL
(`quizzes.models.Attempt.token`), which a cross-site attacker does not have, and they
hold nothing but that visitor's run: no account, no session, no staff action falls
back (admin, sales and API views keep Django's cookie check untouched). A browser
that sends no Origin on a POST gets the cookie check, as before.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt, csrf_protect

RUN_TOKEN_FIELD = "run_token"
RUN_TOKEN_SALT = "quizfunnel.run-csrf"
RUN_TOKEN_MAX_AGE = 24 * 3600
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


def run_scope(kwargs: dict) -> str:
    """What a run's CSRF token is for, from the URL's keyword arguments."""
    if kwargs.get("token"):
        return f"run:{kwargs['token']}"
    return f"start:{kwargs.get('slug', '')}"


def run_token(scope: str) -> str:
    return signing.TimestampSigner(salt=RUN_TOKEN_SALT).sign(scope)


def _own_origin(request: HttpRequest) -> str:
    return f"{'https' if request.is_secure() else 'http'}://{request.get_host()}"


def frame_post_problem(request: HttpRequest, scope: str) -> str:
    """Why a POST without a CSRF cookie is refused, or "" when it proves where it is from."""
    origin = request.headers.get("Origin", "")
    if not origin or origin == "null":
        return "The browser did not say which page sent the form (no Origin header)."
    if origin != _own_origin(request):
        return f"The form was sent from another site ({origin[:100]})."
    if request.headers.get("Sec-Fetch-Site", "same-origin") != "same-origin":
        return "The form was sent from another site (Sec-Fetch-Site)."
    token = request.POST.get(RUN_TOKEN_FIELD, "") or request.headers.get("X-Run-Token", "")
    try:
        signed_for = signing.TimestampSigner(salt=RUN_TOKEN_SALT).unsign(
            token, max_age=RUN_TOKEN_MAX_AGE
        )
    except signing.BadSignature:  # SignatureExpired included
        return "The form is too old or was not made for this quiz run. Reload the page."
    if signed_for != scope:
        return "The form was made for another quiz run. Reload the page."
    return ""


def run_csrf_protect(view):
    """Django's CSRF check, or, without a CSRF cookie, the run's own (see the module)."""
    protected = csrf_protect(view)

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if (
            request.method in SAFE_METHODS
            or settings.CSRF_COOKIE_NAME in request.COOKIES
            # The test client's switch, which Django's own check honours too.
            or getattr(request, "_dont_enforce_csrf_checks", False)
        ):
            return protected(request, *args, **kwargs)
        problem = frame_post_problem(request, run_scope(kwargs))
        if problem:
            return import_string(settings.CSRF_FAILURE_VIEW)(request, reason=problem)
        return view(request, *args, **kwargs)

    # Exempt from the site-wide middleware only because `wrapped` checks, always.
    return csrf_exempt(wrapped)
