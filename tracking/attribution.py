"""The visitor of a request, read from its cookies and headers: who (a random visitor
id), from where (first and last touch), on what (device class), and whether the
User-Agent looks like a crawler.

No raw IP address is read or stored; the referrer is kept as its domain only.

Everything read here comes from outside, and a crafted link must not poison a
browser: touch values are cleaned (core.text) and bounded *before* they are
stored or signed into a cookie, a cookie that cannot be read is discarded, and
a header that does not parse is ignored. Nothing here raises on bad input.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
import zlib
from collections.abc import Mapping
from urllib.parse import urlsplit

from crawlerdetect import CrawlerDetect
from django.core import signing
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from core.cookies import partition_cookie
from core.text import clean_text, clip
from core.visitor import (
    CLICK_ID_SOURCES,
    CLICK_IDS,
    TOUCH_KEYS,
    UTM_PARAMS,
    VALUE_MAX,
    Visitor,
    medium_of,
    source_of,
)
from quizzes.embedding import EmbedRequest, embed_request

__all__ = [
    "CLICK_IDS",
    "CLICK_ID_SOURCES",
    "UTM_PARAMS",
    "VALUE_MAX",
    "device_of",
    "medium_of",
    "source_of",
    "touch_from",
    "visitor_from_request",
    "visitor_id_from_cookie",
    "write_cookies",
]

VISITOR_COOKIE = "qf_vid"
FIRST_TOUCH_COOKIE = "qf_ft"
LAST_TOUCH_COOKIE = "qf_lt"
COOKIE_SALT = "quizfunnel.tracking"
COOKIE_MAX_AGE = 365 * 24 * 3600
# A touch as JSON (non-ASCII escaped, as the signer writes it) stays under this,
# so that its signed, compressed, base64 cookie stays well under a browser's
# 4096-byte limit whatever a link holds.
TOUCH_JSON_MAX = 1500
# Longer than any cookie we write: anything bigger is not ours and is not parsed.
COOKIE_READ_MAX = 4096
USER_AGENT_MAX = 1000
# Click ids are opaque and longer than other touch values (Meta's run past 100 characters).
CLICK_ID_MAX = 500

# A maintained list of crawlers, headless browsers, HTTP libraries and monitors
# (the CrawlerDetect project): a phone called "CUBOT" is not a bot.
_crawlers = CrawlerDetect()
TABLET_PATTERN = re.compile(r"ipad|tablet|kindle|silk/", re.IGNORECASE)
MOBILE_PATTERN = re.compile(r"mobi|iphone|ipod|blackberry|opera mini", re.IGNORECASE)
# Android without "Mobile" anywhere is a tablet (in-app browsers repeat "Android" later).
ANDROID_PATTERN = re.compile(r"android", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)  # a visitor sends the same header on every step
def device_of(user_agent: str) -> tuple[str, bool]:
    """(device class, looks automated) from a User-Agent header."""
    user_agent = clean_text(user_agent)[:USER_AGENT_MAX].strip()
    if not user_agent:
        return "unknown", False
    if _crawlers.is_crawler(user_agent):
        return "bot", True
    if TABLET_PATTERN.search(user_agent):
        return "tablet", False
    if MOBILE_PATTERN.search(user_agent):
        return "mobile", False
    if ANDROID_PATTERN.search(user_agent):
        return "tablet", False
    return "desktop", False


def _host_of(url: str) -> str:
    """The host of a URL, lowercased, without "www."; "" when it does not parse."""
    try:
        host = urlsplit(clean_text(url)).hostname or ""
    except ValueError:  # "http://[" and friends
        return ""
    # Lowercase first, then cut: some characters grow when lowercased.
    return clip(host.lower().removeprefix("www."), VALUE_MAX)


def referrer_domain(referrer: str) -> str:
    return _host_of(referrer)


def _own_host(request: HttpRequest) -> str:
    try:
        return _host_of(f"//{request.get_host()}")
    except DisallowedHost:
        return ""


def bounded_touch(raw: Mapping) -> dict | None:
    """A touch of known keys and cleaned string values, small enough for a cookie.

    The most telling keys come first (TOUCH_KEYS' order) and are kept whole; when
    the budget runs out, later values are shortened or left out.
    """
    if not isinstance(raw, Mapping):
        return None
    touch: dict[str, str] = {}
    room = TOUCH_JSON_MAX
    for key in TOUCH_KEYS:
        value = raw.get(key)
        if not isinstance(value, str):
            continue
        if key in CLICK_IDS:
            # An id cut short is another id (Meta's fbc, Google's gclid would not match):
            # kept whole, or not at all.
            value = clip(value, CLICK_ID_MAX + 1)
            if len(value) > CLICK_ID_MAX or len(json.dumps({key: value})) > room:
                continue
        else:
            value = clip(value, VALUE_MAX)
        while value and len(json.dumps({key: value})) > room:
            value = value[: len(value) // 2].strip()
        if value:
            touch[key] = value
            room -= len(json.dumps({key: value}))
    return touch


def embedded_touch(embed: EmbedRequest) -> dict:
    """The touch of the page that embeds the quiz (embed.js reports its URL and referrer):
    its utm_* and click ids, the site that sent the visitor there, its path."""
    query = embed.page_query()
    params = {k: (query.get(k) or [""])[0] for k in UTM_PARAMS + CLICK_IDS}
    touch = {k: v for k, v in params.items() if clip(v, VALUE_MAX)}
    domain = referrer_domain(embed.referrer)
    if domain and domain != _host_of(embed.page):
        touch["referrer"] = domain
    touch["landing_path"] = urlsplit(embed.page).path or "/"
    touch["at"] = timezone.now().isoformat(timespec="seconds")
    return bounded_touch(touch)


def touch_from(request: HttpRequest) -> dict | None:
    """The campaign or referral this request arrived from; None for an internal step.

    In embed.js's frame, the embedding page's touch: the frame's own address and its
    Referer (the embedding page) say nothing of where the visitor came from.
    """
    embed = embed_request(request.GET)
    if embed.embedded and embed.page:
        return embedded_touch(embed)
    params = {k: request.GET.get(k, "") for k in UTM_PARAMS + CLICK_IDS}
    params = {k: v for k, v in params.items() if clip(v, VALUE_MAX)}
    domain = referrer_domain(request.headers.get("Referer", ""))
    external = domain and domain != _own_host(request)
    if not params and not external:
        return None
    touch = dict(params)
    if external:
        touch["referrer"] = domain
    touch["landing_path"] = request.path
    touch["at"] = timezone.now().isoformat(timespec="seconds")
    return bounded_touch(touch)


def direct_touch(request: HttpRequest) -> dict:
    return bounded_touch(
        {"landing_path": request.path, "at": timezone.now().isoformat(timespec="seconds")}
    )


def visitor_id_from_cookie(request: HttpRequest) -> str | None:
    """The visitor id from the signed cookie, or None when missing, tampered with or unreadable."""
    raw = request.COOKIES.get(VISITOR_COOKIE)
    if not raw or len(raw) > COOKIE_READ_MAX:
        return None
    try:
        visitor_id = request.get_signed_cookie(VISITOR_COOKIE, salt=COOKIE_SALT)
    except (KeyError, signing.BadSignature, ValueError):  # ValueError: undecodable text
        return None
    return visitor_id if re.fullmatch(r"[0-9a-f]{32}", visitor_id) else None


def _read_touch(request: HttpRequest, name: str) -> dict | None:
    raw = request.COOKIES.get(name)
    if not raw or len(raw) > COOKIE_READ_MAX:
        return None
    value = _touch_from_cookie(name, raw)
    return dict(value) if value is not None else None


@functools.lru_cache(maxsize=4096)  # the same cookie comes back on every step
def _touch_from_cookie(name: str, raw: str) -> dict | None:
    try:
        value = signing.loads(raw, salt=COOKIE_SALT + name)
    except (signing.BadSignature, ValueError, zlib.error):
        # Tampered with, cut short, or not text at all: forget it, never fail on it.
        return None
    # Signed by us, but perhaps by an older version that kept values as they came.
    return bounded_touch(value) or None


# Meta's browser id: fb.<subdomain index>.<creation time, ms>.<random>, as the pixel writes it.
FBP_PATTERN = re.compile(r"fb\.[0-9]\.[0-9]{10,13}\.[0-9A-Za-z_-]{1,64}")
# Google Analytics' cookie: GA1.<domain depth>.<random>.<first visit, s>; the client id is
# the last two parts.
GA_PATTERN = re.compile(r"GA1\.[0-9]{1,2}\.([0-9]{1,20}\.[0-9]{1,20})")
AD_COOKIE_MAX = 255


def fbp_from_cookie(raw: str | None) -> str:
    """Meta's `_fbp` cookie when it is one the pixel could have written, else ""."""
    value = clean_text(raw or "")[: AD_COOKIE_MAX + 1].strip()
    return value if len(value) <= AD_COOKIE_MAX and FBP_PATTERN.fullmatch(value) else ""


def ga_client_id_from_cookie(raw: str | None) -> str:
    """The GA4 client id ("X.Y") of a `_ga` cookie ("GA1.1.X.Y"), else ""."""
    value = clean_text(raw or "")[: AD_COOKIE_MAX + 1].strip()
    found = GA_PATTERN.fullmatch(value) if len(value) <= AD_COOKIE_MAX else None
    return found.group(1) if found else ""


def visitor_from_request(request: HttpRequest) -> tuple[Visitor, set[str]]:
    """The request's visitor, and the names of the cookies that must be (re)written."""
    user_agent = clean_text(request.headers.get("User-Agent", ""))[:USER_AGENT_MAX].strip()
    device, is_bot = device_of(user_agent)
    changed = set()
    visitor_id = visitor_id_from_cookie(request)
    if visitor_id is None:
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
    visitor = Visitor(
        id=visitor_id,
        first_touch=first,
        last_touch=last,
        device=device,
        is_bot=is_bot,
        user_agent=user_agent,
        fbp=fbp_from_cookie(request.COOKIES.get("_fbp")),
        ga_client_id=ga_client_id_from_cookie(request.COOKIES.get("_ga")),
    )
    return visitor, changed


def in_frame(request: HttpRequest) -> bool:
    """Whether the request is for a page inside a frame (embed.js's, or any other)."""
    return request.headers.get("Sec-Fetch-Dest") == "iframe" or embed_request(request.GET).embedded


def write_cookies(
    response: HttpResponse,
    visitor: Visitor,
    changed: set[str],
    *,
    secure: bool,
    partitioned: bool = False,
) -> None:
    """Write only what changed: a returning visitor's cookies are left alone.

    `partitioned` (a page in a frame, over HTTPS): `SameSite=None; Secure; Partitioned`,
    the one kind of cookie a third-party frame keeps where third-party cookies are
    blocked, and kept apart for each site that embeds the quiz (core.cookies).
    """
    options = {"max_age": COOKIE_MAX_AGE, "httponly": True, "samesite": "Lax", "secure": secure}
    if partitioned:
        options.update(samesite="None", secure=True)
    names = []
    if VISITOR_COOKIE in changed:
        response.set_signed_cookie(VISITOR_COOKIE, visitor.id, salt=COOKIE_SALT, **options)
        names.append(VISITOR_COOKIE)
    touches = ((FIRST_TOUCH_COOKIE, visitor.first_touch), (LAST_TOUCH_COOKIE, visitor.last_touch))
    for name, touch in touches:
        if name in changed:
            value = signing.dumps(touch, salt=COOKIE_SALT + name, compress=True)
            response.set_cookie(name, value, **options)
            names.append(name)
    if partitioned:
        for name in names:
            partition_cookie(response, name)
