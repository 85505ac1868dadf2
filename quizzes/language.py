"""Which language a visitor is shown, and activating it for their requests.

The product's words come from Django's catalogues (``locale/``); the quiz's own words
from its translations (``quizzes.i18n``). Both follow the language active for the
request, chosen here:

1. ``?lang=de`` on the quiz's link, when the quiz offers that language;
2. else the browser's ``Accept-Language``, best first, among the quiz's languages
   (``de-AT`` matches ``de``);
3. else the quiz's default language.

At the start the choice is stored on the attempt (``Attempt.language``, and the
browser's region in ``Attempt.locale``): every later step, the result, the e-mail and
the PDF of that run use it, whatever the browser sends later.

Before a quiz is known (a 404, a CSRF failure) ``VisitorLanguageMiddleware`` picks the
same way among all shipped languages. Staff pages (admin, sales, dashboard, API) stay
English: the middleware leaves them alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation.trans_real import parse_accept_lang_header

# Staff pages and machine endpoints: English, as Django's LANGUAGE_CODE.
STAFF_PREFIXES = (
    "/admin/",
    "/nested_admin/",
    "/sales/",
    "/dashboard/",
    "/automations/",
    "/api/",
    "/v1/",
    "/t/",
)

# The longest Accept-Language header read: beyond it, a browser's list is garbage.
ACCEPT_LANGUAGE_MAX = 500

# Regions whose paper is US Letter (CLDR's measurementData paperSize); A4 elsewhere.
LETTER_REGIONS = frozenset(
    ["BZ", "CA", "CL", "CO", "CR", "GT", "MX", "NI", "PA", "PH", "PR", "SV", "US", "VE"]
)


def _code(value: str) -> str:
    """``de-AT`` → ``de``; anything not a shipped language → ""."""
    if not isinstance(value, str) or len(value) > 35:
        return ""
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return code if code in dict(settings.LANGUAGES) else ""


def _accepted(request: HttpRequest) -> list[tuple[str, str]]:
    """(base code, region) of the browser's languages, best first; [] for garbage."""
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
    if not isinstance(header, str) or not header or len(header) > ACCEPT_LANGUAGE_MAX:
        return []
    try:
        tags = parse_accept_lang_header(header)
    except ValueError:
        return []
    accepted = []
    for tag, _quality in tags:
        if tag == "*":
            continue
        parts = tag.replace("_", "-").split("-")
        region = next((p.upper() for p in parts[1:] if len(p) == 2 and p.isalpha()), "")
        accepted.append((parts[0].lower(), region))
    return accepted


def choose(request: HttpRequest, offered: Iterable[str], default: str) -> tuple[str, str, str]:
    """(language, region, how) for a visitor: ``?lang``, else Accept-Language among
    `offered`, else `default`. `region` is the browser's (``US`` of ``en-US``) when it
    chose; `how` is "lang", "browser" or "default"."""
    offered = [code for code in offered if code]
    asked = _code(request.GET.get("lang", "") or request.POST.get("lang", ""))
    if asked and asked in offered:
        region = next((r for c, r in _accepted(request) if c == asked and r), "")
        return asked, region, "lang"
    for code, region in _accepted(request):
        if code in offered:
            return code, region, "browser"
    return default, "", "default"


def activate_for_quiz(request: HttpRequest, quiz) -> tuple[str, str]:
    """Activate the visitor's language among the quiz's; (language, region)."""
    language, region, _how = choose(request, quiz.offered_languages(), quiz.language)
    translation.activate(language)
    request.LANGUAGE_CODE = language
    return language, region


def activate_for_attempt(request: HttpRequest, attempt) -> str:
    """Activate the run's language, chosen at its start (older runs: the quiz's)."""
    language = _code(attempt.language) or _code(attempt.quiz.language) or settings.LANGUAGE_CODE
    translation.activate(language)
    request.LANGUAGE_CODE = language
    return language


def paper_for(attempt) -> str:
    """The scorecard's paper: SCORECARD_PAPER when set to A4 or LETTER, else (``auto``,
    the default) US Letter for a visitor whose browser said a Letter region (en-US,
    es-MX, fr-CA, …), A4 for everyone else."""
    setting = str(getattr(settings, "SCORECARD_PAPER", "AUTO")).upper()
    if setting in ("A4", "LETTER"):
        return setting
    region = (getattr(attempt, "locale", "") or "").rpartition("-")[2].upper()
    return "LETTER" if region in LETTER_REGIONS else "A4"


class VisitorLanguageMiddleware:
    """The visitor's language for every page but the staff's, before any quiz is known:
    ``?lang``, else Accept-Language among the shipped languages, else English. A view that
    knows the quiz or the run narrows it (activate_for_quiz, activate_for_attempt).
    Responses say which language they are in (Content-Language) and vary by the header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if request.path_info.startswith(STAFF_PREFIXES):
            return self.get_response(request)
        codes = [code for code, _name in settings.LANGUAGES]
        language, _region, _how = choose(request, codes, settings.LANGUAGE_CODE)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        try:
            response = self.get_response(request)
            shown = translation.get_language() or settings.LANGUAGE_CODE
        finally:
            translation.deactivate()
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", shown)
        return response
