"""Gives each request a lazy `request.tracking`: the request's core.visitor.Visitor,
built from its cookies and headers the first time something asks for it.

It reads; it never writes events. Cookies are written only when new or changed,
and never on a server error (whatever went wrong must not follow the browser
around for a year). Views hand `request.tracking` to services as `visitor=`;
services never see the request.
"""

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from tracking.attribution import in_frame, visitor_from_request, write_cookies

VISITOR_PATHS = ("/q/",)


class TrackingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        changed: set[str] = set()

        def build():
            visitor, to_write = visitor_from_request(request)
            changed.update(to_write)
            return visitor

        request.tracking = SimpleLazyObject(build)
        if request.path.startswith(VISITOR_PATHS):
            # A visitor page is a landing: capture the attribution it arrived with.
            request.tracking.id  # noqa: B018
        response = self.get_response(request)
        if changed and response.status_code < 500:
            write_cookies(
                response,
                request.tracking,
                changed,
                secure=settings.SESSION_COOKIE_SECURE,
                # Over HTTPS only: a Secure cookie needs it (and Partitioned needs Secure).
                partitioned=request.is_secure() and in_frame(request),
            )
        return response
