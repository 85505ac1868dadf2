"""Visitor context of a request: who (a random visitor id), from where (first and
last touch), on what (device class), and whether it is a bot.

No raw IP address is read or stored; the referrer is kept as its domain only.
"""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.core import signing
from django.http import HttpRequest
from django.utils import timezone

UTM_PARAMS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
CLICK_IDS = ("gclid", "gbraid", "wbraid", "fbclid", "msclkid", "ttclid", "li_fat_id")
CLICK_ID_SOURCES = {
    "gclid": "google",
    "gbraid": "google",
    "wbraid": "google",
    "fbclid": "facebook",
    "msclkid": "bing",
    "ttclid": "tiktok",
    "li_fat_id": "linkedin",
}
VISITOR_COOKIE = "qf_vid"
FIRST_TOUCH_COOKIE = "qf_ft"
LAST_TOUCH_COOKIE = "qf_lt"
COOKIE_SALT = "quizfunnel.tracking"
COOKIE_MAX_AGE = 365 * 24 * 3600
VALUE_MAX = 100

BOT_PATTERN = re.compile(
    r"bot|crawl|spider|slurp|scrap|headless|lighthouse|pingdom|uptime|monitor|preview|"
    r"facebookexternalhit|curl|wget|python-requests|python-urllib|httpx|go-http-client|"
    r"java/|okhttp|axios|node-fetch|phantomjs|selenium|playwright|puppeteer",
    re.IGNORECASE,
)
TABLET_PATTERN = re.compile(r"ipad|tablet|kindle|silk|(android(?!.*mobile))", re.IGNORECASE)
MOBILE_PATTERN = re.compile(r"mobi|iphone|ipod|android|blackberry|opera mini", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)  # a visitor sends the same header on every step
def device_of(user_agent: str) -> tuple[str, bool]:
    """(device class, is_bot) from a User-Agent header."""
    if not user_agent:
        return "unknown", False
    if BOT_PATTERN.search(user_agent):
        return "bot", True
    if TABLET_PATTERN.search(user_agent):
        return "tablet", False
    if MOBILE_PATTERN.search(user_agent):
        return "mobile", False
    return "desktop", False


def _clip(value: str) -> str:
    return value.strip()[:VALUE_MAX]


def referrer_domain(referrer: str) -> str:
    host = (urlsplit(referrer).hostname or "").lower()
    return host.removeprefix("www.")[:VALUE_MAX]


def touch_from(request: HttpRequest) -> dict | None:
    """The campaign or referral this request arrived from; None for an internal step."""
    params = {k: _clip(request.GET[k]) for k in UTM_PARAMS + CLICK_IDS if request.GET.get(k)}
    domain = referrer_domain(request.headers.get("Referer", ""))
    own = (request.get_host().split(":")[0] or "").lower().removeprefix("www.")
    external = domain and domain != own
    if not params and not external:
        return None
    touch = dict(params)
    if external:
        touch["referrer"] = domain
    touch["landing_path"] = request.path[:VALUE_MAX]
    touch["at"] = timezone.now().isoformat(timespec="seconds")
    return touch


def direct_touch(request: HttpRequest) -> dict:
    return {
        "landing_path": request.path[:VALUE_MAX],
        "at": timezone.now().isoformat(timespec="seconds"),
    }


def source_of(touch: dict) -> str:
    if touch.get("utm_source"):
        return touch["utm_source"].lower()
    for click_id, source in CLICK_ID_SOURCES.items():
        if touch.get(click_id):
            return source
    return touch.get("referrer") or "(direct)"


def medium_of(touch: dict) -> str:
    if touch.get("utm_medium"):
        return touch["utm_medium"].lower()
    if any(touch.get(k) for k in CLICK_IDS):
        return "cpc"
    return "referral" if touch.get("referrer") else "(none)"


def visitor_id_from_cookie(request: HttpRequest) -> str | None:
    """The visitor id from the signed cookie, or None when missing or tampered with."""
    visitor_id = _read(request, VISITOR_COOKIE)
    return visitor_id if visitor_id and re.fullmatch(r"[0-9a-f]{32}", visitor_id) else None


def _read(request: HttpRequest, name: str):
    try:
        return request.get_signed_cookie(name, salt=COOKIE_SALT)
    except (KeyError, signing.BadSignature):
        return None


def _read_touch(request: HttpRequest, name: str) -> dict | None:
    raw = request.COOKIES.get(name)
    if not raw:
        return None
    value = _touch_from_cookie(name, raw)
    return dict(value) if value is not None else None


@functools.lru_cache(maxsize=4096)  # the same cookie comes back on every step
def _touch_from_cookie(name: str, raw: str) -> dict | None:
    try:
        value = signing.loads(raw, salt=COOKIE_SALT + name)
    except signing.BadSignature:
        return None
    return value if isinstance(value, dict) else None


@dataclass
class TrackingContext:
    visitor_id: str
    first_touch: dict
    last_touch: dict
    device: str
    is_bot: bool
    new_visitor: bool = False
    changed: set[str] = field(default_factory=set)
    # event_id of each event recorded (or found) for this request, for the page.
    event_ids: dict[str, str] = field(default_factory=dict)

    @property
    def first_source(self) -> str:
        return source_of(self.first_touch)

    @property
    def last_source(self) -> str:
        return source_of(self.last_touch)

    @classmethod
    def from_request(cls, request: HttpRequest) -> TrackingContext:
        device, is_bot = device_of(request.headers.get("User-Agent", ""))
        changed = set()
        visitor_id = visitor_id_from_cookie(request)
        new_visitor = visitor_id is None
        if new_visitor:
            visitor_id = uuid.uuid4().hex
            changed.add(VISITOR_COOKIE)
        touch = touch_from(request)
        first = _read_touch(request, FIRST_TOUCH_COOKIE)
        if first is None:
            first = touch or direct_touch(request)
            changed.add(FIRST_TOUCH_COOKIE)
        last = _read_touch(request, LAST_TOUCH_COOKIE)
        if touch is not None and touch != last:
            last = touch
            changed.add(LAST_TOUCH_COOKIE)
        elif last is None:
            last = first
        return cls(visitor_id, first, last, device, is_bot, new_visitor, changed)

    def write_cookies(self, response, *, secure: bool) -> None:
        """Write only what changed: a returning visitor's cookies are left alone."""
        options = {"max_age": COOKIE_MAX_AGE, "httponly": True, "samesite": "Lax", "secure": secure}
        if VISITOR_COOKIE in self.changed:
            response.set_signed_cookie(VISITOR_COOKIE, self.visitor_id, salt=COOKIE_SALT, **options)
        touches = ((FIRST_TOUCH_COOKIE, self.first_touch), (LAST_TOUCH_COOKIE, self.last_touch))
        for name, touch in touches:
            if name in self.changed:
                value = signing.dumps(touch, salt=COOKIE_SALT + name, compress=True)
                response.set_cookie(name, value, **options)
