"""The visitor behind a request, as a plain object that views hand to services.

Services take a `Visitor` (keyword `visitor=`), never the HttpRequest: what they
need about the person is here, and nothing below a view writes onto the
request. tracking.middleware builds one lazily for every request
(`request.tracking`) from the visitor's cookies and headers.

A touch is a small dict of strings: utm_* parameters, click ids, `referrer`
(a domain), `landing_path` and `at` (ISO time). Its values were cleaned
(core.text) and bounded before they got here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

UTM_PARAMS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
CLICK_ID_SOURCES = {
    "gclid": "google",
    "gbraid": "google",
    "wbraid": "google",
    "fbclid": "facebook",
    "msclkid": "bing",
    "ttclid": "tiktok",
    "li_fat_id": "linkedin",
}
CLICK_IDS = tuple(CLICK_ID_SOURCES)
# Every key a touch may hold, the most telling first (a touch too big for its
# cookie keeps these whole).
TOUCH_KEYS = (
    "at",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "referrer",
    *CLICK_IDS,
    "landing_path",
    "utm_term",
    "utm_content",
)
# The longest value a touch keeps, and what a derived source or medium may be
# (the ft_source and lt_source columns).
VALUE_MAX = 100


def source_of(touch: dict) -> str:
    """Where a touch came from: utm_source, else the ad network of a click id, else the
    referring domain, else "(direct)". Lowercased, then cut to VALUE_MAX."""
    if touch.get("utm_source"):
        return touch["utm_source"].lower()[:VALUE_MAX]
    for click_id, source in CLICK_ID_SOURCES.items():
        if touch.get(click_id):
            return source
    return (touch.get("referrer") or "(direct)")[:VALUE_MAX]


def medium_of(touch: dict) -> str:
    if touch.get("utm_medium"):
        return touch["utm_medium"].lower()[:VALUE_MAX]
    if any(touch.get(k) for k in CLICK_IDS):
        return "cpc"
    return "referral" if touch.get("referrer") else "(none)"


@dataclass
class Visitor:
    """Who is on the page, where they came from, and on what.

    `id` is the random id of the visitor cookie (no IP address is ever read).
    `first_touch` and `last_touch` are this browser's; an attempt fixes its own
    copy when it starts, and everything later in the attempt is credited from
    that copy. `is_bot` is a guess from the User-Agent: it marks, it never drops
    a person who gave their e-mail.
    """

    id: str
    first_touch: dict = field(default_factory=dict)
    last_touch: dict = field(default_factory=dict)
    device: str = "unknown"
    is_bot: bool = False
    # The event_id of each server event recorded (or found) while serving this
    # page, by event name: rendered into the page, so that a browser event about
    # the same action enriches it instead of counting twice.
    event_ids: dict[str, str] = field(default_factory=dict)
    # What the ad platforms know this browser by, read at the request (validated, or ""):
    # the User-Agent header, Meta's `_fbp` cookie, and Google Analytics' client id
    # (from the `_ga` cookie "GA1.1.X.Y", the "X.Y"). Kept on the lead for the server-side
    # conversions of automations (Meta's Conversions API, GA4's Measurement Protocol).
    user_agent: str = ""
    fbp: str = ""
    ga_client_id: str = ""

    @property
    def first_source(self) -> str:
        return source_of(self.first_touch)

    @property
    def last_source(self) -> str:
        return source_of(self.last_touch)
