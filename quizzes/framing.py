"""Who may show a quiz's visitor pages in a frame.

Every page of the site answers `X-Frame-Options: DENY` (settings.X_FRAME_OPTIONS)
except the visitor pages of a quiz (`/q/<slug>/…`), which say instead
`Content-Security-Policy: frame-ancestors 'self' <the quiz's allowed sites>`: the
browser refuses the frame on any other site. A page that holds nothing but a message
(no such quiz; this site may not show it) may be framed anywhere, so the visitor
reads why instead of a browser error.
"""

from __future__ import annotations

import functools

from django.http import HttpRequest, HttpResponse

from quizzes.embedding import FRAME_ANCESTORS_ANY, frame_ancestors
from quizzes.models import Quiz
from quizzes.rendering import render_card

CSP = "Content-Security-Policy"


def framed_by_quiz_sites(view):
    """Send the quiz's frame-ancestors (by the `slug` of the URL) instead of DENY.

    A response that names the quiz it was made from (`framed_for`) is answered from it:
    no second query for the same row."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, slug: str, **kwargs) -> HttpResponse:
        response = view(request, *args, slug=slug, **kwargs)
        if CSP not in response:
            quiz = getattr(response, "framed_quiz", None)
            if quiz is not None and quiz.slug == slug:
                sites = quiz.embed_origins
            else:
                sites = (
                    Quiz.objects.filter(slug=slug).values_list("embed_origins", flat=True).first()
                )
            response[CSP] = frame_ancestors(sites or "")
        response.xframe_options_exempt = True
        return response

    return wrapped


def framed_for(response: HttpResponse, quiz: Quiz | None) -> HttpResponse:
    """Note on `response` the quiz it was made from, for framed_by_quiz_sites."""
    response.framed_quiz = quiz
    return response


def frame_message(
    request: HttpRequest,
    title: str,
    message: str,
    *,
    status: int,
    link: tuple[str, str] | None = None,
) -> HttpResponse:
    """A message in the frame embed.js opened: any site may show it (it holds no data)."""
    response = render_card(
        request,
        "quizzes/frame_message.html",
        {"title": title, "message": message, "link": link},
        status=status,
    )
    response[CSP] = FRAME_ANCESTORS_ANY
    response.xframe_options_exempt = True
    response["Cache-Control"] = "no-store"
    return response
