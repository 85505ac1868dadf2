"""Domain signals of the visitor's run, sent by quizzes.services as their last step.

`visitor` is who is on the page (core.visitor.Visitor: id, touches, device, bot
guess), never the HTTP request; receivers may note event ids on it for the page.

Receivers run inside the service's transaction: what they write commits or
rolls back with the action itself.
"""

from django.dispatch import Signal

# A visitor saw a quiz's intro page. Provides: quiz (Quiz), preview (bool),
# visitor (core.visitor.Visitor or None), language (str, the page's language code).
quiz_viewed = Signal()

# A question was shown to the visitor (any time it is rendered; receivers keep
# what they need). Provides: attempt (Attempt), question (Question),
# position (int, 1-based on the path), visitor (core.visitor.Visitor or None).
question_shown = Signal()

# A visitor started a quiz. Provides: attempt (Attempt), visitor (core.visitor.Visitor or None).
attempt_started = Signal()

# A question was answered for the first time in this attempt.
# Provides: attempt (Attempt), answer (Answer), choice_ids (list[int], the chosen
# choices), position (int, 1-based on the path), visitor (core.visitor.Visitor or None).
answer_given = Signal()

# An answer was changed (the visitor went back and chose differently).
# Provides: attempt (Attempt), answer (Answer), choice_ids (list[int]), previous_display (str),
# previous_points (int), position (int), visitor (core.visitor.Visitor or None).
answer_changed = Signal()

# Every question on the attempt's path is answered, for the first time.
# Provides: attempt (Attempt), answered (int, questions on the path answered, skips
# left out), visitor (core.visitor.Visitor or None).
attempt_completed = Signal()

# A run whose lead form came first went silent for QUIZ_ABANDON_MINUTES before its last
# question (sent once per attempt, by the scheduler). Provides: attempt (Attempt, its
# lead loaded), answered (int, answers on the path), total (int, questions on the path),
# last_question_id (int or None: the question the visitor was on), silent_minutes (int).
attempt_abandoned = Signal()
