"""The visitor's run: intro, start, one question per step."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.static import serve as static_serve
from django_htmx.http import push_url

from core.csrf import run_csrf_protect
from quizzes.embedding import (
    EMBED_PARAMS,
    HIDDEN_VALUE_MAX,
    HiddenValues,
    embed_request,
    hidden_values,
    origin_allowed,
)
from quizzes.forms import AnswerForm, StartForm
from quizzes.framing import frame_message, framed_by_quiz_sites, framed_for
from quizzes.language import activate_for_attempt, activate_for_quiz
from quizzes.models import Attempt, Question, Quiz
from quizzes.rendering import INVALID, render_card, render_problem
from quizzes.selectors import (
    AttemptState,
    QuizClosed,
    attempt_get_for_visitor,
    attempt_state,
    quiz_get_for_visitor,
)
from quizzes.services import (
    AttemptFinished,
    answer_submit,
    attempt_start,
    question_show,
    quiz_view,
)


def _wants_preview(request: HttpRequest) -> bool:
    flag = request.GET.get("preview") or request.POST.get("preview")
    return flag == "1" and request.user.has_perm("quizzes.change_quiz")


def step_url(attempt: Attempt, question_id: int) -> str:
    return reverse(
        "quizzes:step",
        kwargs={"slug": attempt.quiz.slug, "token": attempt.token, "question_id": question_id},
    )


def _owes_lead_form(attempt: Attempt) -> bool:
    """A quiz with the form before the questions, and this run has no lead yet."""
    return attempt.quiz.lead_first and not hasattr(attempt, "lead")


def next_url(attempt: Attempt, current: int | None) -> str:
    """Where the visitor goes on: the lead form when it comes first, the first unanswered
    question, then the lead form or (form first, or none asked) the result."""
    names = {"slug": attempt.quiz.slug, "token": attempt.token}
    if attempt.is_finished:
        return reverse("leads:result", kwargs=names)
    if _owes_lead_form(attempt):
        return reverse("leads:details", kwargs=names)
    if current is not None:
        return step_url(attempt, current)
    if attempt.quiz.lead_form_position == Quiz.LeadFormPosition.AFTER:
        return reverse("leads:details", kwargs=names)
    return reverse("leads:result", kwargs=names)


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    quizzes = Quiz.objects.filter(status=Quiz.Status.PUBLISHED)
    return render(request, "quizzes/index.html", {"quizzes": quizzes})


# A quiz taken offline answers 410 Gone, not 404: the address was real and is closed on
# purpose (search engines drop it sooner), and the page says so in words. A draft never
# published stays a plain 404: the public does not learn of drafts.
CLOSED = 410


def _visitor_quiz(request: HttpRequest, slug: str, preview: bool) -> Quiz | HttpResponse:
    try:
        quiz = quiz_get_for_visitor(slug=slug, preview_user=request.user if preview else None)
    except QuizClosed as closed:
        activate_for_quiz(request, closed.quiz)
        return render_card(request, "quizzes/closed.html", {"quiz": closed.quiz}, status=CLOSED)
    activate_for_quiz(request, quiz)
    return quiz


# The most parameters of a link the start form carries on (hidden fields, embed.js's).
FORWARDED_PARAMS_MAX = 40


def _start_query(request: HttpRequest) -> str:
    """The intro's parameters, for the start form's address: the start reads the hidden
    fields and the embedding page from them. Each value is cut just past what any may be
    (a longer one is dropped and counted all the same)."""
    query = request.GET.copy()
    for key in list(query)[FORWARDED_PARAMS_MAX:]:
        del query[key]
    for key in list(query):
        if key not in EMBED_PARAMS:
            query.setlist(key, [value[: HIDDEN_VALUE_MAX + 1] for value in query.getlist(key)])
    return query.urlencode()


# HEAD as GET (an uptime monitor on the quiz's address), without recording a view.
@require_safe
@framed_by_quiz_sites
def intro(request: HttpRequest, slug: str) -> HttpResponse:
    preview = _wants_preview(request)
    embed = embed_request(request.GET)
    try:
        quiz = _visitor_quiz(request, slug, preview)
    except Http404:
        if not embed.embedded:
            raise
        return frame_message(
            request,
            _("This quiz is not available"),
            _(
                "There is no published quiz “%(slug)s” here. If this is your site: check the "
                "data-quiz of the embed snippet, and that the quiz is published."
            )
            % {"slug": slug[:80]},
            status=404,
        )
    if isinstance(quiz, HttpResponse):
        return quiz
    if embed.embedded and not origin_allowed(embed.origin, quiz.embed_origins):
        site = embed.origin or _("This site")
        return frame_message(
            request,
            _("This quiz can't be shown on this site"),
            _(
                "%(site)s is not one of the sites allowed to show “%(quiz)s”. If this is your "
                "site, add it to the quiz's “Sites allowed to embed” in Quizfunnel."
            )
            % {"site": site, "quiz": quiz.tr("title")},
            status=403,
            link=(quiz.get_absolute_url(), _("Open the quiz in a new tab")),
        )
    count = quiz.question_count()
    if request.method == "GET":
        quiz_view(
            quiz=quiz,
            preview=preview or not quiz.is_published,
            visitor=request.tracking,
            language=request.LANGUAGE_CODE,
        )
    context = {
        "quiz": quiz,
        "title": quiz.tr("title"),
        "question_count": count,
        "minutes": quiz.estimated_minutes(count),
        "form": StartForm(initial={"start_key": uuid.uuid4()}),
        "preview": preview,
        "start_action": reverse("quizzes:start", kwargs={"slug": quiz.slug})
        + (f"?{_start_query(request)}" if request.GET else ""),
        "embed_origin": embed.origin if embed.embedded else "",
    }
    return render_card(request, "quizzes/intro.html", context)


def _hidden_and_embed(request: HttpRequest, quiz: Quiz) -> dict:
    """The start's hidden fields and embedding page, read from its address."""
    embed = embed_request(request.GET)
    allowed = embed.embedded and origin_allowed(embed.origin, quiz.embed_origins)
    declared = list(quiz.hidden_fields.values_list("name", "pattern"))
    # The embedding page's parameters first (embed.js reports its URL), then the link's.
    sources = [embed.page_query()] if allowed else []
    sources.append(dict(request.GET.lists()))
    return {
        "hidden": hidden_values(declared, sources) if declared else HiddenValues(),
        "embedded_on": embed.page if allowed else "",
        "embed_origin": embed.origin if allowed else "",
    }


@require_POST
@run_csrf_protect
@framed_by_quiz_sites
def start(request: HttpRequest, slug: str) -> HttpResponse:
    preview = _wants_preview(request)
    quiz = _visitor_quiz(request, slug, preview)
    if isinstance(quiz, HttpResponse):
        return quiz
    language, region = activate_for_quiz(request, quiz)
    form = StartForm(request.POST)
    if not form.is_valid():
        return render_problem(
            request,
            _("The start form was incomplete. Please start the quiz again."),
            status=INVALID,
            link=(quiz.get_absolute_url(), _("Back to the quiz")),
        )
    attempt, _created = attempt_start(
        quiz=quiz,
        start_key=form.cleaned_data["start_key"],
        is_preview=preview or not quiz.is_published,
        visitor=request.tracking,
        language=language,
        locale=f"{language}-{region}" if region else language,
        **_hidden_and_embed(request, quiz),
    )
    return framed_for(
        redirect(next_url(attempt, attempt_state(attempt=attempt).path.current)), quiz
    )


@require_http_methods(["GET", "POST"])
@run_csrf_protect
@framed_by_quiz_sites
def step(request: HttpRequest, slug: str, token: str, question_id: int) -> HttpResponse:
    attempt = attempt_get_for_visitor(slug=slug, token=token)
    activate_for_attempt(request, attempt)
    result_link = (
        reverse("leads:result", kwargs={"slug": slug, "token": token}),
        _("See your result"),
    )
    if attempt.is_finished:
        if request.method == "POST":
            return render_problem(
                request, _("This quiz is finished and its answers are final."), link=result_link
            )
        return redirect(result_link[0])
    if _owes_lead_form(attempt):
        # The form comes first: a step link opened before it goes there.
        details = reverse("leads:details", kwargs={"slug": slug, "token": token})
        if request.method == "POST":
            return render_problem(
                request,
                _("Please tell us where to send your scorecard first."),
                link=(details, _("Go to the form")),
            )
        return redirect(details)
    if request.method != "POST":
        state = attempt_state(attempt=attempt)
        if question_id not in state.path.ids:
            return redirect(next_url(attempt, state.path.current))
        return _step_page(request, attempt, state, question_id)

    # A post reads the answers once: answer_submit reads them under the attempt's lock
    # and checks the question is on the run's path. The view needs only the quiz's
    # questions (the form is built for one), which the service reuses.
    questions = {q.pk: q for q in attempt.quiz.ordered_questions()}
    form = None
    if question_id in questions:
        form = AnswerForm(request.POST, question=questions[question_id])
        if form.is_valid():
            try:
                result = answer_submit(
                    attempt=attempt,
                    question_id=question_id,
                    visitor=request.tracking,
                    questions=questions,
                    **form.cleaned_answer(),
                )
            except AttemptFinished as error:
                return render_problem(request, error.messages[0], link=result_link)
            except ValidationError as error:
                form.add_error("answer", error)
            else:
                following = result.next_question_id
                if request.htmx and following is not None:
                    # One round trip: the next card comes in this answer, with its own
                    # URL pushed (a refresh or a copied link shows that step). Without
                    # JavaScript, and towards the lead form, post/redirect/get as before.
                    page = _step_page(request, attempt, result.state, following)
                    push_url(page, step_url(attempt, following))
                    return page
                return framed_for(redirect(next_url(attempt, following)), attempt.quiz)
    # Not saved: a question off this run's path, or an answer to correct.
    state = attempt_state(attempt=attempt, questions=questions)
    if question_id not in state.path.ids:
        return render_problem(
            request,
            _("That question is not part of this quiz run, so the answer was not saved."),
            link=(next_url(attempt, state.path.current), _("Go to your current question")),
        )
    return _step_page(request, attempt, state, question_id, form=form, status=INVALID)


def _step_page(
    request: HttpRequest,
    attempt: Attempt,
    state: AttemptState,
    question_id: int,
    *,
    form: AnswerForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The step of `question_id`: its card (htmx) or page, recorded as shown."""
    question = state.questions[question_id]
    if form is None:
        form = AnswerForm(question=question, answer=state.answers.get(question_id))
    path = state.path
    position = path.position(question_id)
    previous = path.previous(question_id)
    question_show(attempt=attempt, question=question, position=position, visitor=request.tracking)
    context = {
        "quiz": attempt.quiz,
        "attempt": attempt,
        "question": question,
        "form": form,
        "position": position,
        "total": path.total,
        "progress": round(100 * (position - 1) / path.total),
        "progress_label": pgettext("progress label", "Question %(position)s of %(total)s")
        % {"position": position, "total": path.total},
        "back_url": step_url(attempt, previous) if previous else None,
        "action": step_url(attempt, question_id),
        # With pictures on its choices, a question shows them as tiles.
        "choice_pictures": {str(c.pk): c for c in question.choices.all() if c.image},
        # One pick is the whole answer: nothing to add or undo before going on.
        "auto_advance": attempt.quiz.auto_advance
        and question.kind in (Question.Kind.SINGLE, Question.Kind.YES_NO),
        "embed_origin": attempt.embed_origin,
    }
    return render_card(request, "quizzes/step.html", context, status=status)


@require_safe
def media_file(request: HttpRequest, path: str) -> HttpResponse:
    """A stored picture (embedded default). Names hold a digest of the content, so a name
    never changes meaning: browsers may keep them for a year."""
    response = static_serve(request, path, document_root=settings.MEDIA_ROOT)
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


_EMBED_SCRIPT: dict[str, bytes] = {}


@require_safe
def embed_script(request: HttpRequest) -> HttpResponse:
    """/embed.js, at the site's root as the snippet says (static/embed.js)."""
    if "body" not in _EMBED_SCRIPT:
        _EMBED_SCRIPT["body"] = (settings.BASE_DIR / "static" / "embed.js").read_bytes()
    response = HttpResponse(_EMBED_SCRIPT["body"], content_type="text/javascript; charset=utf-8")
    # Unversioned (the snippet never changes): a short cache, so a fix reaches every site.
    response["Cache-Control"] = "public, max-age=300"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
