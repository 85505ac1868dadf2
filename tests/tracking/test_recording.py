"""Every step is recorded once, on the server, in the transaction of its action."""

from collections import Counter

import pytest
from django.db import connection, transaction
from django.test import Client

from leads.models import Lead
from leads.signals import lead_captured
from tests.concurrency import at_once, on_postgres
from tests.visitor import HOT_RUN, answer, question, result_url, run, start, step_url, submit_lead
from tracking import plan
from tracking.models import AppendOnlyError, ConversionEvent, ReconciliationRun
from tracking.services import event_record
from tracking.signals import event_recorded

pytestmark = pytest.mark.django_db


def names(**filters) -> Counter:
    return Counter(ConversionEvent.objects.filter(**filters).values_list("name", flat=True))


def _visit_every_step(client, quiz):
    """A visitor as a browser would: view, start, see and answer each question, send, read."""
    client.get(quiz.get_absolute_url())
    attempt = start(client, quiz)
    for text, labels, kwargs in HOT_RUN:
        client.get(step_url(attempt, question(quiz, text)))
        answer(client, attempt, text, *labels, **kwargs)
    submit_lead(client, attempt)
    client.get(result_url(attempt))
    return attempt


def test_a_full_run_records_each_step_once(client, scorecard):
    attempt = _visit_every_step(client, scorecard)
    assert names() == {
        "quiz_viewed": 1,
        "quiz_started": 1,
        "question_viewed": 5,
        "question_answered": 5,
        "quiz_completed": 1,
        "lead_submitted": 1,
        "result_viewed": 1,
    }
    events = ConversionEvent.objects.filter(attempt=attempt)
    assert {e.visitor_id for e in events} == {attempt.visitor_id} != {""}
    assert set(events.values_list("source", flat=True)) == {"server"}
    lead_event = events.get(name="lead_submitted")
    assert lead_event.lead == attempt.lead
    assert lead_event.properties | {"category_scores": None} == {
        "lead_id": attempt.lead.pk,
        "score": 38,
        "max_score": 40,
        "percent": 95,
        "tier": "Hot",
        "top_tier": True,
        "category_scores": None,
        "spam": False,
        "language": "en",
    }
    answered = events.get(name="question_answered", question__text="How do you tag links?")
    assert answered.properties["answer"] == "Always"
    assert answered.properties["points"] == 10
    assert answered.properties["position"] == 2


def test_retries_refreshes_and_the_back_button_add_no_events(client, scorecard):
    attempt = _visit_every_step(client, scorecard)
    before = names()
    q1 = question(scorecard, "Do you advertise?")
    # The result page refreshed, an old step revisited, the lead form sent again.
    client.get(result_url(attempt))
    client.get(step_url(attempt, q1))
    submit_lead(client, attempt)
    assert names() == before


def test_the_same_answer_posted_twice_is_answered_once(client, scorecard):
    attempt = start(client, scorecard)
    answer(client, attempt, "Do you advertise?", "Yes")
    answer(client, attempt, "Do you advertise?", "Yes")
    assert names(attempt=attempt)["question_answered"] == 1


def test_changing_an_answer_is_its_own_event(client, scorecard):
    attempt = start(client, scorecard)
    answer(client, attempt, "Do you advertise?", "Yes")
    answer(client, attempt, "Do you advertise?", "No")
    answer(client, attempt, "Do you advertise?", "Yes")
    counts = names(attempt=attempt)
    assert counts["question_answered"] == 1
    assert counts["answer_changed"] == 2
    change = ConversionEvent.objects.filter(name="answer_changed").first()
    assert (change.properties["previous_answer"], change.properties["answer"]) == ("Yes", "No")


def test_a_lead_and_its_event_commit_or_roll_back_together(client, scorecard):
    attempt = run(client, scorecard)

    def fail(**kwargs):
        raise RuntimeError("the CRM hook broke")

    lead_captured.connect(fail, dispatch_uid="test-fail")
    try:
        with pytest.raises(RuntimeError):
            submit_lead(client, attempt)
    finally:
        lead_captured.disconnect(dispatch_uid="test-fail")
    assert not Lead.objects.exists()
    assert not ConversionEvent.objects.filter(name="lead_submitted").exists()
    assert submit_lead(client, attempt).status_code == 302
    assert Lead.objects.count() == names()["lead_submitted"] == 1


def test_an_undeclared_event_or_bad_properties_are_errors_in_code(scorecard):
    with pytest.raises(plan.PlanError, match="not an event of the tracking plan"):
        event_record(name="quiz_started_v2", quiz=scorecard, properties={})
    with pytest.raises(plan.PlanError, match="required property “question_count” is missing"):
        event_record(name="quiz_started", quiz=scorecard, properties={})
    with pytest.raises(plan.PlanError, match="must be integer"):
        event_record(name="quiz_started", quiz=scorecard, properties={"question_count": "5"})
    with pytest.raises(plan.PlanError, match="unknown property score"):
        event_record(name="quiz_viewed", quiz=scorecard, properties={"score": 1})
    assert not ConversionEvent.objects.exists()


def test_events_are_append_only(client, scorecard):
    start(client, scorecard)
    event = ConversionEvent.objects.get()
    event.name = "quiz_completed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


def test_the_database_refuses_a_second_once_only_event(client, scorecard):
    from django.db import IntegrityError

    attempt = start(client, scorecard)
    original = ConversionEvent.objects.get(name="quiz_started")
    copy = ConversionEvent(
        event_id="00000000-0000-4000-8000-000000000001",
        name="quiz_started",
        quiz=scorecard,
        attempt=attempt,
        occurred_at=original.occurred_at,
        properties=original.properties,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        copy.save()


def test_previews_and_bots_are_flagged(admin_client, client, scorecard):
    bot = Client(headers={"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1)"})
    bot.get(scorecard.get_absolute_url())
    assert ConversionEvent.objects.get().is_bot
    assert ConversionEvent.objects.get().device == "bot"
    attempt = start(admin_client, scorecard, preview="1")
    assert ConversionEvent.objects.get(attempt=attempt).is_preview


def test_a_spam_lead_keeps_its_event_flagged_as_a_bot(client, scorecard):
    attempt = run(client, scorecard)
    submit_lead(client, attempt, website="http://spam.example")
    event = ConversionEvent.objects.get(name="lead_submitted")
    assert event.is_bot and event.properties["spam"] is True


def test_the_page_renders_the_server_event_ids(client, scorecard):
    attempt = start(client, scorecard)
    page = client.get(step_url(attempt, question(scorecard, "Do you advertise?"))).content.decode()
    viewed = ConversionEvent.objects.get(name="question_viewed")
    assert f'data-track-event="{viewed.event_id}" data-track-name="question_viewed"' in page


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_leave_one_event_of_each_once_only_kind(scorecard):
    import uuid

    key = uuid.uuid4()
    clients = [Client() for _ in range(3)]
    attempts = at_once([lambda c=c: start(c, scorecard, start_key=key) for c in clients])
    assert len({a.pk for a in attempts}) == 1
    attempt = attempts[0]
    url = step_url(attempt, question(scorecard, "Do you advertise?"))
    at_once([lambda c=c: c.get(url) for c in clients])
    at_once([lambda c=c: answer(c, attempt, "Do you advertise?", "Yes") for c in clients])
    counts = names(attempt=attempt)
    assert (counts["quiz_started"], counts["question_viewed"], counts["question_answered"]) == (
        1,
        1,
        1,
    )


def test_quiz_completed_counts_the_answers_on_the_path_only(client, scorecard):
    attempt = start(client, scorecard)
    answer(client, attempt, "Do you advertise?", "Yes")
    answer(client, attempt, "How do you tag links?", "Always")
    answer(client, attempt, "Do you advertise?", "No")  # back: "tag links" leaves the path
    for text, labels, kwargs in HOT_RUN[2:]:
        answer(client, attempt, text, *labels, **kwargs)
    completed = ConversionEvent.objects.get(name="quiz_completed")
    assert completed.properties["questions_answered"] == 4  # not 5: one answer is off the path


def _commit_mode() -> str:
    """How the request's transaction would commit (the test holds it open)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@on_postgres
def test_a_view_commits_without_waiting_for_the_disk_and_other_events_wait(client, scorecard):
    attempt = start(client, scorecard)
    assert _commit_mode() == "on"  # quiz_started: durable
    client.get(step_url(attempt, question(scorecard, "Do you advertise?")))
    assert ConversionEvent.objects.filter(name="question_viewed").count() == 1
    assert _commit_mode() == "off"  # question_viewed: a view


@on_postgres
def test_an_answer_commits_durably(client, scorecard):
    attempt = start(client, scorecard)
    answer(client, attempt, "Do you advertise?", "Yes")
    assert ConversionEvent.objects.filter(name="question_answered").count() == 1
    assert _commit_mode() == "on"


@on_postgres
def test_a_view_that_writes_a_delivery_commits_durably(client, scorecard):
    from tests.automations.factories import ActionFactory, RuleFactory

    rule = RuleFactory(name="Every question seen", trigger="question_viewed")
    ActionFactory(rule=rule, kind="webhook", webhook_url="https://hooks.example.com/seen")
    attempt = start(client, scorecard)
    client.get(step_url(attempt, question(scorecard, "Do you advertise?")))
    assert rule.actions.get().deliveries.count() == 1
    assert _commit_mode() == "on"  # the outbox row is never left to an asynchronous commit


@on_postgres
def test_a_view_commits_durably_whatever_a_listener_writes_without_asking(client, scorecard):
    def note_each_event(sender, *, event, **kwargs):  # another app's listener: no commit_durably
        ReconciliationRun.objects.create(ok=True, summary={"seen": event.name})

    event_recorded.connect(note_each_event, dispatch_uid="test.note_each_event")
    try:
        attempt = start(client, scorecard)
        client.get(step_url(attempt, question(scorecard, "Do you advertise?")))
    finally:
        event_recorded.disconnect(dispatch_uid="test.note_each_event")
    assert ReconciliationRun.objects.filter(summary__seen="question_viewed").count() == 1
    assert _commit_mode() == "on"


@on_postgres
def test_views_commit_durably_when_the_setting_says_so(client, scorecard, settings):
    settings.TRACKING_VIEWS_ASYNC_COMMIT = False
    attempt = start(client, scorecard)
    client.get(step_url(attempt, question(scorecard, "Do you advertise?")))
    assert ConversionEvent.objects.filter(name="question_viewed").count() == 1
    assert _commit_mode() == "on"


def test_services_take_the_visitor_not_the_request(scorecard):
    import uuid

    from core.visitor import Visitor
    from leads.services import lead_capture
    from quizzes import signals
    from quizzes.services import answer_submit, attempt_start

    laptop = Visitor(id="a" * 32, first_touch={"utm_source": "newsletter"}, device="desktop")
    heard = []

    def listen(sender, **kwargs):
        heard.append(kwargs)

    signals.attempt_started.connect(listen, dispatch_uid="test-listen")
    try:
        attempt, _ = attempt_start(quiz=scorecard, start_key=uuid.uuid4(), visitor=laptop)
    finally:
        signals.attempt_started.disconnect(dispatch_uid="test-listen")
    assert heard[0]["visitor"] is laptop and "request" not in heard[0]
    started = ConversionEvent.objects.get(name="quiz_started")
    assert laptop.event_ids == {"quiz_started": str(started.event_id)}

    phone = Visitor(id="b" * 32, first_touch={"utm_source": "facebook"}, device="mobile")
    for text, labels, kwargs in HOT_RUN:
        q = question(scorecard, text)
        choice_ids = [c.pk for c in q.choices.filter(label__in=labels)]
        answer_submit(
            attempt=attempt, question_id=q.pk, choice_ids=choice_ids, visitor=phone, **kwargs
        )
    lead, _ = lead_capture(attempt=attempt, email="ada@example.com", visitor=phone)
    event = ConversionEvent.objects.get(name="lead_submitted")
    assert (event.device, event.visitor_id, event.ft_source) == ("mobile", "a" * 32, "newsletter")
    assert phone.event_ids["lead_submitted"] == str(event.event_id)
    assert lead.source == "newsletter"
