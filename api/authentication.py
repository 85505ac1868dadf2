"""`Authorization: Bearer KEY` for the REST API, and the scope each view needs."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from api.keys import KeyRejected, key_authenticate, key_check_scope
from api.models import ApiKey


class BearerKeyAuthentication(authentication.BaseAuthentication):
    """request.user and request.auth are the ApiKey; no header, no key (the permission
    then answers 401 with the reason)."""

    keyword = "bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, raw = header.strip().partition(" ")
        if scheme.lower() != self.keyword:
            raise exceptions.AuthenticationFailed(
                "Send the API key as 'Authorization: Bearer KEY'."
            )
        try:
            key = key_authenticate(raw, scope=None)
        except KeyRejected as rejected:
            raise exceptions.AuthenticationFailed(rejected.reason) from None
        return key, key

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) to a request without a valid key.
        return 'Bearer realm="api"'


class HasScope(permissions.BasePermission):
    """The view's `scopes` maps an HTTP method (or "*") to the scope it needs; a view
    that names none is closed to every key."""

    def has_permission(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            raise exceptions.NotAuthenticated("No API key: send it as 'Authorization: Bearer KEY'.")
        method = "GET" if request.method == "HEAD" else request.method
        if method == "OPTIONS" or not hasattr(view, method.lower()):
            return True  # what the address allows (OPTIONS), or 405 for a method it lacks
        scopes = getattr(view, "scopes", {})
        scope = scopes.get(method, scopes.get("*"))
        if scope is None:
            raise exceptions.PermissionDenied("No API key may do this.")
        try:
            key_check_scope(key, scope)
        except KeyRejected as rejected:
            raise exceptions.PermissionDenied(rejected.reason) from None
        return True


class BearerKeyScheme(OpenApiAuthenticationExtension):
    target_class = BearerKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key (admin → API keys, or manage.py create_api_key), "
            "sent as 'Authorization: Bearer KEY'.",
        }
