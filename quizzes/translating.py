"""A quiz's texts in its further languages: every translatable item of a quiz, how much
of it is translated per language, and what stops a quiz offered in a language from
being published.

Generic over the models: any concrete ``Translatable`` (quizzes.i18n) that reaches its
quiz through required foreign keys (a choice → its question → the quiz) counts, so a
new translatable model is covered without a change here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.apps import apps
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import get_language_info

from quizzes.i18n import Translatable
from quizzes.models import Quiz


def language_label(code: str) -> str:
    """The language's English name for the builder (“German”), its code if unknown."""
    try:
        return get_language_info(code)["name"]
    except KeyError:
        return code


@cache
def _path_to_quiz(model: type[models.Model]) -> str | None:
    """The lookup from `model` to its quiz through required foreign keys, "" for the quiz
    itself; None when there is none."""
    if model is Quiz:
        return ""
    for field in model._meta.fields:
        if isinstance(field, models.ForeignKey) and not field.null:
            rest = _path_to_quiz(field.related_model)
            if rest is not None:
                return field.name + (f"__{rest}" if rest else "")
    return None


def translatable_models() -> list[tuple[type[Translatable], str]]:
    """(model, lookup to its quiz) for every concrete translatable model, quiz first."""
    found = []
    for model in apps.get_models():
        if issubclass(model, Translatable) and model.TRANSLATED_FIELDS:
            path = _path_to_quiz(model)
            if path is not None:
                found.append((model, path))
    return sorted(found, key=lambda pair: (pair[1].count("__") + bool(pair[1]), pair[1]))


def quiz_items(quiz: Quiz) -> list[Translatable]:
    """Every translatable item of the quiz (one query per model), the quiz first."""
    items: list[Translatable] = []
    for model, path in translatable_models():
        if not path:
            items.append(quiz)
        else:
            items.extend(model.objects.filter(**{path: quiz}))
    return items


@dataclass(frozen=True)
class Progress:
    language: str
    done: int
    total: int
    missing: tuple[str, ...]  # where, in words, in page order

    @property
    def label(self) -> str:
        return language_label(self.language)

    @property
    def complete(self) -> bool:
        return self.done == self.total

    def __str__(self) -> str:
        return f"{self.label}: {self.done} of {self.total} text{'s' if self.total != 1 else ''}"


def _where(item: Translatable, field: str) -> str:
    meta = item._meta
    name = str(item)
    name = name if len(name) <= 50 else name[:49].rstrip() + "…"
    what = capfirst(meta.get_field(field).verbose_name)
    if isinstance(item, Quiz):
        return f"the quiz's {what.lower()}"
    return f"{meta.verbose_name} “{name}”: {what.lower()}"


def progress(quiz: Quiz, language: str, items: list[Translatable] | None = None) -> Progress:
    """How many of the quiz's texts have a translation into `language`."""
    items = quiz_items(quiz) if items is None else items
    done, total, missing = 0, 0, []
    for item in items:
        stored = item.translations if isinstance(item.translations, dict) else {}
        own = stored.get(language) if isinstance(stored.get(language), dict) else {}
        for field in item.texts_to_translate():
            total += 1
            value = own.get(field)
            if isinstance(value, str) and value.strip():
                done += 1
            else:
                missing.append(_where(item, field))
    return Progress(language, done, total, tuple(missing))


def quiz_progress(quiz: Quiz) -> list[Progress]:
    """Progress of each further language the quiz is offered in."""
    further = quiz.offered_languages()[1:]
    if not further:
        return []
    items = quiz_items(quiz)
    return [progress(quiz, code, items) for code in further]


def translation_problems(*, quiz: Quiz) -> list[str]:
    """A language on offer with texts not translated stops publishing: its visitors would
    get a quiz half in another language."""
    problems = []
    for state in quiz_progress(quiz):
        if state.complete:
            continue
        count = state.total - state.done
        shown = "; ".join(state.missing[:3]) + ("; …" if count > 3 else "")
        problems.append(
            f"{state.label}: {count} of {state.total} texts are not translated yet ({shown}). "
            f"Translate them, or stop offering {state.label}."
        )
    return problems
