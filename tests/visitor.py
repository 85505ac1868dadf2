"""Drive the visitor's run through Django's test client, the way a form post would."""

from __future__ import annotations

import uuid

from django.test import Client
from django.urls import reverse

from quizzes.models import Attempt, Question, Quiz


def start(client: Client, quiz: Quiz, *, start_key: uuid.UUID | None = None, **extra) -> Attempt:
    response = client.post(
        reverse("quizzes:start", args=[quiz.slug]),
        {"start_key": str(start_key or uuid.uuid4()), **extra},
    )
    assert response.status_code == 302, response.content
    token = response["Location"].split("/t/")[1].split("/")[0]
    return Attempt.objects.get(token=token)


def question(quiz: Quiz, text: str) -> Question:
    return Question.objects.get(quiz=quiz, text=text)


def step_url(attempt: Attempt, q: Question) -> str:
    return reverse(
        "quizzes:step",
        kwargs={"slug": attempt.quiz.slug, "token": attempt.token, "question_id": q.pk},
    )


def details_url(attempt: Attempt) -> str:
    return reverse("leads:details", kwargs={"slug": attempt.quiz.slug, "token": attempt.token})


def result_url(attempt: Attempt) -> str:
    return reverse("leads:result", kwargs={"slug": attempt.quiz.slug, "token": attempt.token})


def answer_data(q: Question, *labels: str, rating: int | None = None, text: str | None = None):
    if labels:
        ids = [str(q.choices.get(label=label).pk) for label in labels]
        return {"answer": ids if q.kind == Question.Kind.MULTIPLE else ids[0]}
    if rating is not None:
        return {"answer": str(rating)}
    if text is not None:
        return {"answer": text}
    return {}


def answer(client: Client, attempt: Attempt, prompt: str, *labels: str, headers=None, **kwargs):
    q = question(attempt.quiz, prompt)
    return client.post(step_url(attempt, q), answer_data(q, *labels, **kwargs), headers=headers)


# The scorecard's answers for a full run, and what they score (see ScorecardFactory).
HOT_RUN = [
    ("Do you advertise?", ("Yes",), {}),
    ("How do you tag links?", ("Always",), {}),
    ("What do you track?", ("Forms", "Leads", "Revenue"), {}),
    ("How confident are you?", (), {"rating": 8}),
    ("Anything else?", (), {"text": "More budget"}),
]  # 10 + 10 + 10 + 8 = 38 of 40: 95 %, Hot


def run(client: Client, quiz: Quiz, steps=HOT_RUN) -> Attempt:
    attempt = start(client, quiz)
    for text, labels, kwargs in steps:
        response = answer(client, attempt, text, *labels, **kwargs)
        assert response.status_code == 302, response.content.decode()[:2000]
    return attempt


def submit_lead(client: Client, attempt: Attempt, **fields):
    data = {"email": "ada@example.com", "name": "Ada", "company": "Analytical", **fields}
    return client.post(details_url(attempt), data)
