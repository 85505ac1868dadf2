"""Who may see the staff pages: members of a group, and superusers."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

MARKETERS = "Marketers"
SALES = "Sales"


def in_group(user, *names: str) -> bool:
    return user.is_active and (user.is_superuser or user.groups.filter(name__in=names).exists())


def group_required(*names: str):
    """Logged-in members of one of `names` (or superusers); others get a 403 page."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not in_group(request.user, *names):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
