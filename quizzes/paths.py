"""The visitor's path through a quiz, as a pure function of ids.

Questions are asked in their order; a chosen answer may branch forward to a
later question, skipping those between. Questions not on the path are never
asked and never count towards the maximum score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Path:
    ids: tuple[int, ...]  # questions on the path so far, the current one last if unanswered
    current: int | None  # the first unanswered question, None when all are answered
    total: int  # the path's projected length: so far + the rest in order

    @property
    def complete(self) -> bool:
        return self.current is None

    @property
    def answered(self) -> tuple[int, ...]:
        return self.ids if self.current is None else self.ids[:-1]

    def position(self, question_id: int) -> int:
        """1-based position of a question on the path."""
        return self.ids.index(question_id) + 1

    def previous(self, question_id: int) -> int | None:
        index = self.ids.index(question_id)
        return self.ids[index - 1] if index > 0 else None


def walk(order: Sequence[int], answered: Mapping[int, int | None]) -> Path:
    """Walk `order` (question ids) given `answered`: question id -> branch target or None.

    A branch to a question that is not later in the order is ignored (publishing
    refuses those, but an edit may still leave one behind).
    """
    index = {question_id: i for i, question_id in enumerate(order)}
    ids: list[int] = []
    i = 0
    while i < len(order):
        question_id = order[i]
        ids.append(question_id)
        if question_id not in answered:
            remaining_in_order = len(order) - i - 1
            return Path(tuple(ids), question_id, len(ids) + remaining_in_order)
        target = answered[question_id]
        i = index[target] if target in index and index[target] > i else i + 1
    return Path(tuple(ids), None, len(ids))
