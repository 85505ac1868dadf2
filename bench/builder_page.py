"""The quiz builder's page: queries and time to open the demo quiz and a 20-question quiz.

    DATABASE_URL=... .venv/bin/python bench/builder_page.py [REPEATS]

Each "then go to" and category drop-down used to read the quiz's questions or categories
again (a 20-question quiz: 135 queries); now the options are read once for the page
(quizzes/admin.py, PendingModelChoiceField.cached_choices), one query per question's
choices remains.
"""

from __future__ import annotations

import sys

from harness import median_ms, throwaway_database, timed

REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 7

with throwaway_database():
    from django.contrib.auth.models import User
    from django.db import connection, reset_queries
    from django.test import Client

    from quizzes.demo import demo_quiz_create
    from quizzes.models import Choice, Question
    from quizzes.scorecards import quiz_from_template

    User.objects.create_superuser("bench", password="bench-password-123456")
    client = Client()
    client.force_login(User.objects.get(username="bench"))
    demo, _ = demo_quiz_create()
    big = quiz_from_template(name="sales-readiness")
    for n in range(20 - big.questions.count()):
        question = Question.objects.create(quiz=big, order=100 + n, text=f"Extra {n}?")
        Choice.objects.bulk_create(
            Choice(question=question, label=f"C{j}", points=j, order=j) for j in range(4)
        )
    for label, quiz in (("demo quiz", demo), ("20 questions", big)):
        url = f"/admin/quizzes/quiz/{quiz.pk}/change/"
        client.get(url)  # warm: templates compiled, static manifest read
        connection.force_debug_cursor = True
        reset_queries()
        assert client.get(url).status_code == 200
        queries = list(connection.queries)
        connection.force_debug_cursor = False
        samples = [timed(client.get, url) for _ in range(REPEATS)]
        choices = Choice.objects.filter(question__quiz=quiz).count()
        print(
            f"{label}: {quiz.questions.count()} questions, {choices} choices: "
            f"{len(queries)} queries, median {median_ms(samples):.0f} ms over {REPEATS} loads"
        )
