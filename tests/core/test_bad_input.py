"""Bad input never breaks the product: a 4xx with a message a person understands, or a
normal page, and nothing written. Every test here answered 500 (or stored too much) before.

Run them on PostgreSQL too: NUL bytes and over-long values only fail there.
"""

import re

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from automations.conditions import parse_value
from leads.models import Lead, Note
from quizzes.admin import MAX_CHOICES, MAX_QUESTIONS
from quizzes.models import Answer, Question, Quiz
from tests.leads.factories import LeadFactory
from tests.quizzes.factories import ChoiceFactory, QuestionFactory, QuizFactory, TierFactory
from tests.visitor import details_url, result_url, run, start, step_url, submit_lead
from tracking.models import ConversionEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller(client):
    user = User.objects.create_user("sam", password="pw-sam-123456")
    user.groups.add(Group.objects.get(name="Sales"))
    client.force_login(user)
    return user


@pytest.fixture
def marketer(client):
    user = User.objects.create_user("mia", password="pw-mia-123456")
    user.groups.add(Group.objects.get(name="Marketers"))
    client.force_login(user)
    return client


def counts():
    return (Answer.objects.count(), Lead.objects.count(), ConversionEvent.objects.count())


def text(response) -> str:
    return response.content.decode()


def assert_friendly(response, status: int, message: str):
    assert response.status_code == status
    page = text(response)
    assert message in page
    assert "Traceback" not in page and "DATABASE_URL" not in page and "SECRET_KEY" not in page


class TestUrlTokens:
    @pytest.mark.parametrize("where", ["step", "details", "result"])
    def test_a_nul_byte_in_a_visitor_link_is_a_400_page(self, client, scorecard, where):
        attempt = run(client, scorecard)
        token = attempt.token[:10] + "%00" + attempt.token[10:]
        url = {
            "step": f"/q/{scorecard.slug}/t/{token}/q/1/",
            "details": f"/q/{scorecard.slug}/t/{token}/details/",
            "result": f"/q/{scorecard.slug}/r/{token}/",
        }[where]
        before = counts()
        response = client.get(url)
        assert_friendly(response, 400, "cannot be part of a link")
        assert counts() == before

    def test_a_nul_byte_in_the_timeline_link_is_a_400_page(self, marketer):
        assert_friendly(marketer.get("/dashboard/timeline/abc%00/"), 400, "a NUL byte")

    def test_an_unknown_token_is_the_friendly_404(self, client, scorecard):
        response = client.get(f"/q/{scorecard.slug}/r/no-such-token/")
        assert_friendly(response, 404, "Check the link you were given.")


class TestLeadForm:
    def test_an_email_too_long_once_lowercased_is_refused_with_its_limit(self, client, scorecard):
        attempt = run(client, scorecard)
        # 250 characters as typed, 490 once lowercased (each “İ” becomes two).
        domain = ".".join(["İ" * 60] * 4)
        email = f"ada@{domain}.io"
        assert len(email) <= 254 < len(email.lower())
        before = counts()
        response = submit_lead(client, attempt, email=email)
        assert_friendly(response, 422, "Please keep your email under 254 characters.")
        assert counts() == before

    def test_an_email_is_stored_lowercased_and_without_nul_bytes(self, client, scorecard):
        attempt = run(client, scorecard)
        response = submit_lead(client, attempt, email="Ada@Example.COM", name="A\x00da")
        assert response.status_code == 302
        lead = Lead.objects.get()
        assert (lead.email, lead.name) == ("ada@example.com", "Ada")

    def test_a_name_of_nul_bytes_only_counts_as_empty(self, client, scorecard):
        scorecard.ask_name = Quiz.FieldMode.REQUIRED
        scorecard.save()
        attempt = run(client, scorecard)
        response = submit_lead(client, attempt, name="\x00\x00")
        assert_friendly(response, 422, "Please enter your name.")
        assert not Lead.objects.exists()

    def test_a_honeypot_filled_with_anything_is_spam_not_an_error_nobody_can_see(
        self, client, scorecard
    ):
        # Found by tests/core/test_hostile_text.py: 3,000 characters in the hidden field
        # were a 400 whose only message was on the field a person cannot see.
        attempt = run(client, scorecard)
        response = submit_lead(client, attempt, website="[" * 3000)
        assert response.status_code == 302
        assert Lead.objects.get().is_spam


class TestAnswers:
    def test_a_multiple_choice_answer_of_many_long_labels_is_kept_whole(self, client):
        quiz = QuizFactory(status=Quiz.Status.PUBLISHED)
        TierFactory(quiz=quiz)
        question = QuestionFactory(quiz=quiz, kind=Question.Kind.MULTIPLE)
        labels = [f"{n} " + "long label " * 18 for n in range(10)]  # 10 x 200 characters
        ids = [str(ChoiceFactory(question=question, label=label[:200]).pk) for label in labels]
        attempt = start(client, quiz)
        response = client.post(step_url(attempt, question), {"answer": ids})
        assert response.status_code == 302
        display = Answer.objects.get().display
        assert len(display) > 2000
        assert all(label[:200] in display for label in labels)
        assert submit_lead(client, attempt).status_code == 302
        assert Lead.objects.get().answers[0]["answer"] == display


class TestSales:
    @pytest.mark.parametrize("owner", ["²", "١٢", "9" * 19, "-1"])
    def test_an_owner_that_is_not_an_id_is_a_clear_400(self, client, seller, owner):
        LeadFactory()
        assert_friendly(client.get("/sales/", {"owner": owner}), 400, "Choose an owner")

    def test_an_export_with_bad_filters_says_why_on_a_page(self, admin_client):
        response = admin_client.get("/sales/export.csv", {"owner": "²"})
        assert_friendly(response, 400, "Choose an owner from the list.")

    @pytest.mark.parametrize("owner", ["²", "١", "\x00", "9" * 30])
    def test_assigning_an_owner_that_is_not_an_id_is_a_clear_400(self, client, seller, owner):
        lead = LeadFactory()
        response = client.post(f"/sales/leads/{lead.pk}/owner", {"owner": owner})
        assert_friendly(response, 400, "Choose a member of Sales.")
        assert Lead.objects.get(pk=lead.pk).owner is None

    def test_a_note_with_nul_bytes_is_kept_without_them(self, client, seller):
        lead = LeadFactory()
        response = client.post(f"/sales/leads/{lead.pk}/notes", {"text": "Call\x00 back"})
        assert response.status_code == 200
        assert Note.objects.get().text == "Call back"

    def test_a_note_of_nul_bytes_only_is_empty(self, client, seller):
        lead = LeadFactory()
        response = client.post(f"/sales/leads/{lead.pk}/notes", {"text": "\x00\x00"})
        assert_friendly(response, 400, "Write something in the note first.")
        assert not Note.objects.exists()


class TestDashboard:
    @pytest.mark.parametrize(
        ("query", "message"),
        [
            ({"start": "9999-12-30", "end": "9999-12-31"}, "Choose a date between 1900 and 2999."),
            ({"start": "2026-02-30"}, "Enter a real date, such as 2026-02-28."),
            ({"quiz": "²"}, "Select a valid choice."),
            ({"unit": "İ" * 60}, "Select a valid choice."),
        ],
    )
    def test_impossible_filters_are_a_400_with_the_reason(
        self, marketer, scorecard, query, message
    ):
        assert_friendly(marketer.get("/dashboard/", query), 400, message)
        response = marketer.get("/dashboard/report/funnel.csv", query)
        assert_friendly(response, 400, message)

    def test_an_unknown_report_is_the_friendly_404(self, marketer, scorecard):
        response = marketer.get("/dashboard/report/nothing.csv")
        assert_friendly(response, 404, "There is no report called “nothing”.")


class TestAdmin:
    @pytest.mark.parametrize(
        "query",
        [
            {"created_at__year": "9999", "created_at__month": "12", "created_at__day": "31"},
            {"created_at__year": "9999", "created_at__month": "12"},
            {"created_at__year": "9999"},
            {"created_at__year": "2026", "created_at__month": "2", "created_at__day": "30"},
            {"created_at__year": "²"},
        ],
    )
    def test_an_impossible_date_filter_comes_back_with_a_message(self, admin_client, query):
        LeadFactory()
        response = admin_client.get("/admin/leads/lead/", {**query, "status": "new"}, follow=True)
        assert response.status_code == 200
        assert response.redirect_chain[-1][0] == "/admin/leads/lead/?status=new"
        page = text(response)
        assert re.search(r"(does not exist|between 1900 and 2999|is not a date)", page)

    @pytest.mark.parametrize(
        "url",
        [
            "/admin/quizzes/attempt/?started_at__year=9999",
            "/admin/tracking/conversionevent/?occurred_at__year=9999",
            "/admin/tracking/rejectedevent/?received_at__year=9999",
            "/admin/automations/delivery/?created_at__year=9999",
        ],
    )
    def test_every_date_drill_down_refuses_year_9999(self, admin_client, url):
        response = admin_client.get(url, follow=True)
        assert response.status_code == 200
        assert "Choose a date between 1900 and 2999." in text(response)

    @pytest.mark.parametrize(
        "url", ["/admin/leads/lead/?status=%00", "/admin/quizzes/quiz/?q=a%00b", "/sales/?q=%00"]
    )
    def test_a_nul_byte_in_a_staff_query_is_a_400_page(self, admin_client, url):
        assert_friendly(admin_client.get(url), 400, "a NUL byte")

    @staticmethod
    def _quiz_post(questions: int, choices: int) -> dict:
        data = {
            "title": "Huge",
            "slug": "huge",
            "start_label": "Start",
            "lead_form_title": "Where should we send it?",
            "ask_name": "off",
            "ask_company": "off",
            "ask_phone": "off",
            "_save": "Save",
        }
        for prefix, total in (("categories", 0), ("tiers", 0), ("questions", questions)):
            data |= {f"{prefix}-TOTAL_FORMS": total, f"{prefix}-INITIAL_FORMS": 0}
        for n in range(min(questions, MAX_QUESTIONS + 1)):
            data |= {f"questions-{n}-choices-TOTAL_FORMS": choices}
            data |= {f"questions-{n}-choices-INITIAL_FORMS": 0}
        return data

    def test_a_post_claiming_100000_inline_forms_is_refused_before_building_one(self, admin_client):
        response = admin_client.post("/admin/quizzes/quiz/add/", self._quiz_post(100_000, 0))
        assert_friendly(response, 400, "That form claims 100000 entries in one list")
        assert f"holds at most {MAX_QUESTIONS}" in text(response)
        response = admin_client.post("/admin/quizzes/quiz/add/", self._quiz_post(1, 100_000))
        assert_friendly(response, 400, "That form claims 100000 entries in one list")
        assert not Quiz.objects.filter(slug="huge").exists()

    def test_one_choice_more_than_allowed_is_a_form_error_with_the_limit(self, admin_client):
        response = admin_client.post(
            "/admin/quizzes/quiz/add/", self._quiz_post(1, MAX_CHOICES + 1)
        )
        assert response.status_code == 200
        assert f"Please submit at most {MAX_CHOICES} forms." in text(response)
        assert not Quiz.objects.filter(slug="huge").exists()
        formsets = {f.formset.prefix: f.formset for f in response.context["inline_admin_formsets"]}
        assert len(formsets["questions"].forms[0].nested_formsets[0].forms) == MAX_CHOICES

    def test_the_largest_quiz_the_admin_allows_fits_in_one_post(self, admin_client, settings):
        def fields(questions: int, choices: int) -> int:
            quiz = QuizFactory()
            for n in range(questions):
                question = QuestionFactory(quiz=quiz, kind=Question.Kind.SINGLE, order=n)
                ChoiceFactory.create_batch(choices, question=question)
            page = text(admin_client.get(f"/admin/quizzes/quiz/{quiz.pk}/change/"))
            form = page[page.index('id="quiz_form"') :]
            return len(re.findall(r'name="', form[: form.index("</form>")]))

        # The page grows by a fixed number of fields per question and per choice.
        base, one, two = fields(0, 0), fields(1, 1), fields(1, 2)
        per_choice = two - one
        per_question = one - base - per_choice
        assert fields(2, 2) == base + 2 * per_question + 4 * per_choice
        largest = base + MAX_QUESTIONS * (per_question + MAX_CHOICES * per_choice)
        assert largest > 1_000  # Django's default limit would refuse it
        assert largest < settings.DATA_UPLOAD_MAX_NUMBER_FIELDS

    def test_a_condition_value_nested_thousands_deep_is_a_form_error(self):
        from django.core.exceptions import ValidationError

        for raw in ("[" * 5000 + "]" * 5000, "1e400"):
            with pytest.raises(ValidationError, match="is not a valid"):
                parse_value("lead_submitted", "category_scores", "=", raw)
        with pytest.raises(ValidationError, match="is not a valid"):
            parse_value("lead_submitted", "percent", ">", "1e400")


class TestLimits:
    def test_a_link_with_more_parameters_than_allowed_is_a_friendly_400(self, client, settings):
        settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
        query = "&".join(f"p{n}=1" for n in range(1001))
        response = client.get(f"/q/?{query}")
        assert_friendly(response, 400, "more than 1000 fields")

    def test_a_form_post_larger_than_allowed_is_a_friendly_413(self, client, scorecard, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
        attempt = run(client, scorecard)
        response = client.post(details_url(attempt), {"email": "a@example.com", "x": "y" * 2**21})
        assert_friendly(response, 413, "more data than one form may send (at most 1 MB)")
        assert not Lead.objects.exists()

    def test_the_result_page_of_a_finished_run_still_shows(self, client, scorecard):
        attempt = run(client, scorecard)
        submit_lead(client, attempt)
        assert client.get(result_url(attempt)).status_code == 200


def test_debug_off_shows_no_traceback_for_a_crash(settings, scorecard, monkeypatch):
    """Whatever slips through, a visitor sees the 500 page, not the code or the settings."""
    settings.DEBUG = False
    from quizzes import views

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(views, "quiz_view", broken)
    client = Client(raise_request_exception=False)
    response = client.get(f"/q/{scorecard.slug}/")
    assert_friendly(response, 500, "Something went wrong on our side")
    assert "secret internals" not in text(response)
