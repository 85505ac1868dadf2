"""Rendering of the visitor's pages: the whole page, or only its card for htmx."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.http import push_url


def render_card(
    request: HttpRequest, template: str, context: dict, *, status: int = 200
) -> HttpResponse:
    """Render `template`, or only its `card` partial for an htmx swap.

    A successful GET pushes its own URL, so a refresh or a copied link shows
    the same step; an error re-render (4xx) keeps the URL where it is.
    """
    htmx = getattr(request, "htmx", None)
    partial = bool(htmx) and not htmx.history_restore_request
    response = render(request, f"{template}#card" if partial else template, context, status=status)
    # The quiz it shows: quizzes.framing reads its frame-ancestors from it.
    response.framed_quiz = context.get("quiz")
    if partial and request.method == "GET" and status == 200:
        push_url(response, request.get_full_path())
    return response


# A visitor's bad input answers 422 (a form to correct) or 409 (the run has moved on),
# never 400: in DEBUG, django-htmx's error handler swaps a 400, 403, 404 or 500 over the
# whole document, and the card would lose its page (styles, hidden honeypot).
INVALID = 422
CONFLICT = 409


def render_problem(
    request: HttpRequest,
    message: str,
    *,
    status: int = CONFLICT,
    link: tuple[str, str] | None = None,
) -> HttpResponse:
    """A visitor-facing error page (or card) with a message and a way on."""
    return render_card(
        request, "quizzes/problem.html", {"message": message, "link": link}, status=status
    )
