"""Benchmark: the sales inbox's first page, one row per person, on 100,000 leads
(about 40,000 people: some sent the form up to five times). Target: under 500 ms (as the dashboard's reports).

The leads are generated in PostgreSQL itself (generate_series). The page is fetched
through Django's test client as a member of Sales, the whole request measured
(the grouped list, its count, the first-response statistics and the template).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/inbox.py [leads]
"""

import sys
import time

from harness import median_ms, throwaway_database

LEADS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000


def generate(quiz, tier):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO quizzes_attempt
              (quiz_id, token, start_key, visitor_id, is_preview, started_at, active_at,
               first_touch, last_touch, hidden_fields, embedded_on, embed_origin, language, locale)
            SELECT %s, 'bench-' || i, md5(i::text)::uuid, 'v' || i, false,
                   now() - (i %% 2592000) * interval '1 second',
                   now() - (i %% 2592000) * interval '1 second', '{}', '{}', '{}', '', '', 'en', 'en'
            FROM generate_series(1, %s) AS i
            """,
            [quiz.pk, LEADS],
        )
        # Person p sends the form 1 + (p % 5) times: 100,000 leads from about 40,000 people.
        cursor.execute(
            """
            INSERT INTO leads_lead
              (attempt_id, quiz_id, email, name, company, phone, consent_given, consent_text,
               score_points, score_max, score_percent, tier_id, tier_name, tier_colour,
               category_scores, source, attribution, answers, status, is_spam, is_preview,
               looks_automated, created_at, share_token, user_agent, fbp, ga_client_id,
               hidden_fields, consent_language)
            SELECT a.id, %s, 'person' || (a.i / 2.5)::int || '@example.com', 'Person', '', '',
                   false, '', a.i %% 41, 40, (a.i %% 41) * 100 / 40, %s, 'Warm', '#d97706',
                   '[]', 'newsletter', '{}', '[]', 'new', a.i %% 50 = 0, false, false, a.started_at,
                   'bench-' || a.i, '', '', '', '{}', ''
            FROM (SELECT id, started_at, row_number() OVER (ORDER BY id) AS i
                  FROM quizzes_attempt WHERE token LIKE 'bench-%%') AS a
            """,
            [quiz.pk, tier.pk],
        )
        cursor.execute("VACUUM ANALYZE leads_lead")


def main():
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.test import Client

    from leads.models import Lead
    from quizzes.models import Quiz

    with throwaway_database():
        call_command("seed_demo", "--no-admin", verbosity=0)
        quiz = Quiz.objects.get()
        started = time.perf_counter()
        generate(quiz, quiz.tiers.first())
        people = Lead.objects.for_sales().values("email").distinct().count()
        print(
            f"generated {Lead.objects.count():,} leads from {people:,} people "
            f"in {time.perf_counter() - started:.1f} s"
        )
        seller = User.objects.create_user("sam")
        seller.groups.add(Group.objects.get(name="Sales"))
        client = Client()
        client.force_login(seller)
        for label, query in (
            ("inbox, hottest first", {}),
            ("inbox, newest first", {"sort": "new"}),
            ("inbox, search 'person12'", {"q": "person12"}),
            ("inbox, htmx list only, page 40", {"page": "40", "_": "htmx"}),
        ):
            headers = {"HX-Request": "true"} if query.pop("_", None) else {}
            assert client.get("/sales/", query, headers=headers).status_code == 200  # warm
            samples = []
            for _ in range(5):
                t = time.perf_counter()
                response = client.get("/sales/", query, headers=headers)
                samples.append(time.perf_counter() - t)
            assert response.status_code == 200
            ms = median_ms(samples)
            print(f"{label}: median {ms:.0f} ms ({'met' if ms < 500 else 'NOT met'}: < 500 ms)")


if __name__ == "__main__":
    main()
