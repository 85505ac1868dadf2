"""The lead form after the last question, and the visitor's personal result."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_safe

from core.csrf import run_csrf_protect
from leads.blocks import lead_result_blocks
from leads.forms import LeadForm
from leads.models import Lead
from leads.report import scorecard_card_png, scorecard_filename, scorecard_pdf
from leads.services import (
    AttemptIncomplete,
    lead_capture,
    lead_score,
    result_anonymous,
    result_show,
)
from leads.shown import shown_result
from quizzes.embedding import again_url
from quizzes.framing import framed_by_quiz_sites, framed_for
from quizzes.language import activate_for_attempt, activate_for_quiz
from quizzes.rendering import INVALID, render_card, render_problem
from quizzes.selectors import attempt_get_for_visitor, attempt_state


def _result_url(slug: str, token: str) -> str:
    return reverse("leads:result", kwargs={"slug": slug, "token": token})


def _next(attempt, state) -> str:
    """Where a run goes on from the form or the result: its current question, else the
    result."""
    if state.path.current is not None:
        return _step_url(attempt.quiz.slug, attempt.token, state.path.current)
    return _result_url(attempt.quiz.slug, attempt.token)


def _step_url(slug: str, token: str, question_id: int) -> str:
    return reverse(
        "quizzes:step", kwargs={"slug": slug, "token": token, "question_id": question_id}
    )


@require_http_methods(["GET", "POST"])
@run_csrf_protect
@framed_by_quiz_sites
def details(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    attempt = attempt_get_for_visitor(slug=slug, token=token)
    activate_for_attempt(request, attempt)
    quiz = attempt.quiz
    has_lead = hasattr(attempt, "lead")
    if not quiz.asks_for_lead and not has_lead:
        # No form on this quiz: the run goes on to its anonymous result.
        return redirect(_next(attempt, attempt_state(attempt=attempt)))
    form_first = quiz.lead_first and not has_lead
    if has_lead and not attempt.is_finished:
        # The form came first and was sent: on with the questions.
        state = attempt_state(attempt=attempt)
        if request.method == "POST":
            return render_problem(
                request, _("Your details are saved."), link=(_next(attempt, state), _("Go on"))
            )
        return redirect(_next(attempt, state))
    status = 200
    if request.method == "POST":
        form = LeadForm(request.POST, quiz=quiz)
        if form.is_valid():
            # lead_capture reads the answers under the attempt's lock and refuses an
            # incomplete run: a successful post reads them once, not twice.
            try:
                lead_capture(attempt=attempt, visitor=request.tracking, **form.capture_arguments())
            except AttemptIncomplete:
                return _unanswered(request, attempt_state(attempt=attempt), slug, token)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                if form_first:
                    return redirect(_next(attempt, attempt_state(attempt=attempt)))
                return framed_for(redirect(_result_url(slug, token)), quiz)
        state = attempt_state(attempt=attempt)
        if not form_first and not attempt.is_finished and not state.path.complete:
            return _unanswered(request, state, slug, token)
        status = INVALID
    else:
        state = attempt_state(attempt=attempt)
        if not form_first and not attempt.is_finished and not state.path.complete:
            return redirect(_step_url(slug, token, state.path.current))
        if attempt.is_finished:
            return redirect(_result_url(slug, token))
        form = LeadForm(quiz=quiz)

    last = state.path.ids[-1] if state.path.ids and not form_first else None
    context = {
        "quiz": quiz,
        "attempt": attempt,
        "form": form,
        "form_first": form_first,
        "total": state.path.total,
        "back_url": _step_url(slug, token, last) if last and not attempt.is_finished else None,
        "action": reverse("leads:details", kwargs={"slug": slug, "token": token}),
        "embed_origin": attempt.embed_origin,
    }
    return render_card(request, "leads/details.html", context, status=status)


def _unanswered(request: HttpRequest, state, slug: str, token: str) -> HttpResponse:
    return render_problem(
        request,
        _("Please answer every question before sending your details."),
        link=(_step_url(slug, token, state.path.current), _("Go to the next question")),
    )


# GET only: showing the result records result_viewed (and, form first, scores the lead);
# a HEAD must change nothing, so it is a 405.
@require_GET
@framed_by_quiz_sites
def result(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    attempt = attempt_get_for_visitor(slug=slug, token=token)
    activate_for_attempt(request, attempt)
    lead = Lead.objects.filter(attempt=attempt).select_related("tier").first()
    if lead is None and not attempt.quiz.asks_for_lead:
        lead = result_anonymous(attempt=attempt)  # an unsaved stand-in, or None
        if lead is None:
            return redirect(_next(attempt, attempt_state(attempt=attempt)))
    elif lead is None:
        return redirect(reverse("leads:details", kwargs={"slug": slug, "token": token}))
    elif not attempt.is_finished and not lead_score(lead=lead, visitor=request.tracking):
        # The form came first: the score is given once the questions are answered.
        return redirect(_next(attempt, attempt_state(attempt=attempt)))
    lead.attempt, lead.quiz = attempt, attempt.quiz  # already loaded: no second query
    result_show(lead=lead, visitor=request.tracking)
    response = render_card(
        request,
        "leads/result.html",
        {
            "quiz": attempt.quiz,
            "attempt": attempt,
            "lead": lead,
            "blocks": lead_result_blocks(lead),
            "shown": shown_result(lead),
            "embed_origin": attempt.embed_origin,
            "again_url": again_url(attempt),
        },
    )
    # The token is the key to a personal result: keep it out of caches and referrers.
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_safe  # HEAD as GET (a download manager, a link checker): nothing is recorded
def result_pdf(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """The visitor's scorecard as a PDF, the same one the e-mail carries."""
    attempt = attempt_get_for_visitor(slug=slug, token=token)
    activate_for_attempt(request, attempt)
    lead = Lead.objects.filter(attempt=attempt).select_related("tier", "quiz__brand").first()
    if lead is None:
        return redirect(reverse("leads:details", kwargs={"slug": slug, "token": token}))
    lead.attempt = attempt
    response = HttpResponse(scorecard_pdf(lead), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{scorecard_filename(lead)}"'
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


def _shared(slug: str, share_token: str) -> Lead:
    """A lead's public summary: only published quizzes, never previews or spam."""
    lead = (
        Lead.objects.filter(
            quiz__slug=slug,
            share_token=share_token,
            quiz__status="published",
            is_preview=False,
            is_spam=False,
        )
        .select_related("quiz__brand", "tier")
        .first()
    )
    if lead is None:
        raise Http404(_("No such scorecard."))
    return lead


@require_safe
def share(request: HttpRequest, slug: str, share_token: str) -> HttpResponse:
    """What a visitor shares: score, tier and category bars; no name, e-mail or answers."""
    lead = _shared(slug, share_token)
    activate_for_quiz(request, lead.quiz)
    card_url = request.build_absolute_uri(
        reverse("leads:share_card", kwargs={"slug": slug, "share_token": share_token})
    )
    return render_card(
        request,
        "leads/share.html",
        {
            "quiz": lead.quiz,
            "lead": lead,
            "shown": shown_result(lead),
            "card_url": card_url,
            "page_url": request.build_absolute_uri(),
            "quiz_url": request.build_absolute_uri(lead.quiz.get_absolute_url()),
        },
    )


@require_safe
def share_card(request: HttpRequest, slug: str, share_token: str) -> HttpResponse:
    """The share page's preview picture (Open Graph / Twitter card), 1200 × 630 PNG."""
    lead = _shared(slug, share_token)
    activate_for_quiz(request, lead.quiz)
    response = HttpResponse(scorecard_card_png(lead), content_type="image/png")
    response["Cache-Control"] = "public, max-age=86400"
    return response
