"""The lead form after the last question, and the visitor's personal result."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from core.csrf import run_csrf_protect
from leads.forms import LeadForm
from leads.models import Lead
from leads.services import lead_capture, result_show
from quizzes.framing import framed_by_quiz_sites
from quizzes.rendering import INVALID, render_card, render_problem
from quizzes.selectors import attempt_get_for_visitor, attempt_state


def _result_url(slug: str, token: str) -> str:
    return reverse("leads:result", kwargs={"slug": slug, "token": token})


def _step_url(slug: str, token: str, question_id: int) -> str:
    return reverse(
        "quizzes:step", kwargs={"slug": slug, "token": token, "question_id": question_id}
    )


@require_http_methods(["GET", "POST"])
@run_csrf_protect
@framed_by_quiz_sites
def details(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    attempt = attempt_get_for_visitor(slug=slug, token=token)
    quiz = attempt.quiz
    state = attempt_state(attempt=attempt)
    if not attempt.is_finished and not state.path.complete:
        if request.method == "POST":
            return render_problem(
                request,
                "Please answer every question before sending your details.",
                link=(_step_url(slug, token, state.path.current), "Go to the next question"),
            )
        return redirect(_step_url(slug, token, state.path.current))

    status = 200
    if request.method == "POST":
        form = LeadForm(request.POST, quiz=quiz)
        if form.is_valid():
            try:
                lead_capture(
                    attempt=attempt,
                    visitor=request.tracking,
                    **form.capture_arguments(),
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return redirect(_result_url(slug, token))
        status = INVALID
    elif attempt.is_finished:
        return redirect(_result_url(slug, token))
    else:
        form = LeadForm(quiz=quiz)

    last = state.path.ids[-1] if state.path.ids else None
    context = {
        "quiz": quiz,
        "attempt": attempt,
        "form": form,
        "total": state.path.total,
        "back_url": _step_url(slug, token, last) if last and not attempt.is_finished else None,
        "action": reverse("leads:details", kwargs={"slug": slug, "token": token}),
        "embed_origin": attempt.embed_origin,
    }
    return render_card(request, "leads/details.html", context, status=status)


@require_GET
@framed_by_quiz_sites
def result(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    attempt = attempt_get_for_visitor(slug=slug, token=token)
    lead = Lead.objects.filter(attempt=attempt).select_related("tier").first()
    if lead is None:
        return redirect(reverse("leads:details", kwargs={"slug": slug, "token": token}))
    lead.attempt, lead.quiz = attempt, attempt.quiz  # already loaded: no second query
    result_show(lead=lead, visitor=request.tracking)
    response = render_card(
        request,
        "leads/result.html",
        {
            "quiz": attempt.quiz,
            "attempt": attempt,
            "lead": lead,
            "embed_origin": attempt.embed_origin,
        },
    )
    # The token is the key to a personal result: keep it out of caches and referrers.
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response
