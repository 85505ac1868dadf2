"""An admin post that claims 100,000 inline forms: how long it holds a web worker.

    DATABASE_URL=... .venv/bin/python bench/admin_inline_cap.py [NESTED]

Questions claim 100,000 forms, and the first NESTED questions (default 31) claim
100,000 choices each. Now the admin answers 400 before building a form
(core.admin.BoundedFormsetsMixin); before, Django built up to 2,000 forms per
formset, nested in each question form.
"""

from __future__ import annotations

import sys

from harness import throwaway_database, timed

NESTED = int(sys.argv[1]) if len(sys.argv) > 1 else 31

with throwaway_database():
    from django.contrib.auth.models import User
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the response's context: how many forms were built
    User.objects.create_superuser("bench", password="bench-password-123456")
    client = Client()
    client.force_login(User.objects.get(username="bench"))
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
    for prefix, total in (("categories", 0), ("tiers", 0), ("questions", 100_000)):
        data |= {f"{prefix}-TOTAL_FORMS": total, f"{prefix}-INITIAL_FORMS": 0}
    for n in range(NESTED):
        data |= {f"questions-{n}-choices-TOTAL_FORMS": 100_000}
        data |= {f"questions-{n}-choices-INITIAL_FORMS": 0}
    responses = []
    seconds = timed(lambda: responses.append(client.post("/admin/quizzes/quiz/add/", data)))
    response = responses[0]
    print(f"fields posted: {len(data)}; answered {response.status_code} in {seconds:.2f} s")
    if response.context and "inline_admin_formsets" in response.context:
        formsets = {f.formset.prefix: f.formset for f in response.context["inline_admin_formsets"]}
        questions = formsets["questions"].forms
        choices = sum(len(f.nested_formsets[0].forms) for f in questions)
        print(f"question forms built: {len(questions)}, choice forms built: {choices}")
    else:
        print("no form built")
