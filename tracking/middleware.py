"""Gives each request a lazy `request.tracking` (tracking.attribution.TrackingContext).

It reads; it never writes events. Cookies are written only when new or changed.
"""

from django.conf import settings
from django.utils.functional import SimpleLazyObject, empty

from tracking.attribution import TrackingContext

VISITOR_PATHS = ("/q/",)


class TrackingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.tracking = SimpleLazyObject(lambda: TrackingContext.from_request(request))
        if request.path.startswith(VISITOR_PATHS):
            # A visitor page is a landing: capture the attribution it arrived with.
            request.tracking.visitor_id  # noqa: B018
        response = self.get_response(request)
        if request.tracking._wrapped is not empty:
            request.tracking.write_cookies(response, secure=settings.SESSION_COOKIE_SECURE)
        return response
