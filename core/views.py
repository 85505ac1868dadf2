"""Error pages with a message a person understands (never a traceback, never a setting)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

GENERIC_400 = gettext_lazy("Something in it was malformed. Please go back and try again.")


def error_page(request: HttpRequest, message: str, *, status: int = 400) -> HttpResponse:
    """The friendly error page for `status` (templates/<status>.html), saying `message`."""
    template = loader.get_template(f"{status}.html")
    return HttpResponse(template.render({"message": message}, request), status=status)


def _why(exception) -> tuple[int, str]:
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024) or 1
        return 413, _("That was more data than one form may send (at most %(limit)s MB).") % {
            "limit": limit
        }
    if isinstance(exception, TooManyFieldsSent):
        return 400, _(
            "That form or link had more than %(limit)s fields, more than any page here uses. "
            "Go back and send it again with fewer."
        ) % {"limit": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}
    if isinstance(exception, TooManyFilesSent):
        return 400, _("That form sent more files than any page here accepts.")
    message = getattr(exception, "human_message", None)
    return 400, message or GENERIC_400


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    """handler400: Django raises SuspiciousOperation for these; say which it was."""
    status, message = _why(exception)
    return error_page(request, message, status=status)
