"""Embedding a quiz on another site, and the hidden fields a quiz keeps from its link.

Pure functions over strings: which sites may frame a quiz (its `embed_origins`), the
Content-Security-Policy that says so to the browser, the embedding page as embed.js
reports it (`qf_*` parameters), and the hidden fields read from a link's parameters.

Everything here reads text from outside and never raises on it: a value that does not
fit is dropped (and, for a declared hidden field, counted), never stored raw.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

import re2

from core.text import clean_text

# The parameters embed.js adds to the frame's address (never hidden fields themselves).
EMBED_MODE = "qf_embed"  # inline, popup or slider
EMBED_ORIGIN = "qf_origin"  # the embedding page's origin
EMBED_PAGE = "qf_page"  # the embedding page's URL (its query holds utm_* and hidden fields)
EMBED_REFERRER = "qf_ref"  # the embedding page's own referrer
EMBED_PARAMS = (EMBED_MODE, EMBED_ORIGIN, EMBED_PAGE, EMBED_REFERRER)
MODES = ("inline", "popup", "slider")

PAGE_URL_MAX = 2000  # Attempt.embedded_on
ORIGIN_MAX = 300  # Attempt.embed_origin

# An allowed site: scheme, host (or *.domain for its subdomains), and a port or * for any.
# The same grammar as a CSP host-source, so each line goes into frame-ancestors as it is.
_ORIGIN_PATTERN = re.compile(
    r"(?P<scheme>https?)://(?P<wild>\*\.)?(?P<host>[a-z0-9]([a-z0-9-]*[a-z0-9])?"
    r"(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)(:(?P<port>[0-9]{1,5}|\*))?"
)
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class SitePattern:
    scheme: str
    host: str
    subdomains: bool  # *.host: any subdomain of host (not host itself, as in CSP)
    port: int | None  # None: the scheme's default port; -1: any port

    @property
    def source(self) -> str:
        """As a CSP host-source."""
        port = "" if self.port is None else (":*" if self.port == -1 else f":{self.port}")
        return f"{self.scheme}://{'*.' if self.subdomains else ''}{self.host}{port}"

    def allows(self, origin: str) -> bool:
        parsed = parse_origin(origin)
        if parsed is None:
            return False
        scheme, host, port = parsed
        if scheme != self.scheme:
            return False
        if self.subdomains:
            if not host.endswith("." + self.host):
                return False
        elif host != self.host:
            return False
        if self.port == -1:
            return True
        return port == (DEFAULT_PORTS[scheme] if self.port is None else self.port)


def parse_origin(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin such as https://example.com:8443, else None."""
    origin = clean_text(origin).strip().lower()
    if len(origin) > ORIGIN_MAX:
        return None
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme]


def parse_site(line: str) -> SitePattern | None:
    """One line of a quiz's allowed sites, or None when it is not an origin."""
    text = clean_text(line).strip().lower().rstrip("/")
    match = _ORIGIN_PATTERN.fullmatch(text)
    if match is None or len(text) > ORIGIN_MAX:
        return None
    raw_port = match.group("port")
    if raw_port == "*":
        port: int | None = -1
    elif raw_port is None:
        port = None
    else:
        port = int(raw_port)
        if not 0 < port < 65536:
            return None
        if port == DEFAULT_PORTS[match.group("scheme")]:
            port = None
    return SitePattern(match.group("scheme"), match.group("host"), bool(match.group("wild")), port)


def site_lines(text: str) -> list[str]:
    return [line.strip() for line in clean_text(text or "").splitlines() if line.strip()]


def site_problems(text: str) -> list[str]:
    """What is wrong with a quiz's list of allowed sites, in plain words."""
    problems = []
    for line in site_lines(text):
        if parse_site(line) is None:
            problems.append(
                f"“{line[:80]}” is not a site: write its origin, such as https://www.example.com, "
                "https://*.example.com or http://localhost:* (no path)."
            )
    return problems


@functools.lru_cache(maxsize=256)
def allowed_sites(text: str) -> tuple[SitePattern, ...]:
    """The allowed sites of a quiz's `embed_origins` (lines that do not parse are left out)."""
    sites = (parse_site(line) for line in site_lines(text))
    return tuple(dict.fromkeys(site for site in sites if site is not None))


def origin_allowed(origin: str, text: str) -> bool:
    return any(site.allows(origin) for site in allowed_sites(text))


def frame_ancestors(text: str) -> str:
    """The Content-Security-Policy for a quiz's visitor pages: framed by itself and its sites."""
    return " ".join(["frame-ancestors 'self'", *(site.source for site in allowed_sites(text))])


# A page with nothing but a message (this site may not show the quiz): any page may frame it.
FRAME_ANCESTORS_ANY = "frame-ancestors *"


@dataclass(frozen=True)
class EmbedRequest:
    """What embed.js says about the page that embeds the frame (all cleaned and bounded)."""

    mode: str = ""  # "" when the frame was not opened by embed.js
    origin: str = ""
    page: str = ""
    referrer: str = ""

    @property
    def embedded(self) -> bool:
        return bool(self.mode)

    def page_query(self) -> dict[str, list[str]]:
        return page_query(self.page)


def clean_page_url(raw: str) -> str:
    """An http(s) URL without its fragment, or "" (kept as Attempt.embedded_on)."""
    text = clean_text(raw or "").strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (a bad port raises here)
    except ValueError:
        return ""
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return ""
    url = parts._replace(fragment="").geturl()
    return url if len(url) <= PAGE_URL_MAX else ""


def page_query(url: str) -> dict[str, list[str]]:
    """The query parameters of a page URL (bad percent-escapes become U+FFFD)."""
    try:
        query = urlsplit(url).query
    except ValueError:
        return {}
    return parse_qs(query, keep_blank_values=True, errors="replace", max_num_fields=200)


def embed_request(params: Mapping) -> EmbedRequest:
    """The embed parameters of a request (its GET), or an empty EmbedRequest."""
    mode = params.get(EMBED_MODE, "")
    if mode not in MODES:
        return EmbedRequest()
    parsed = parse_origin(params.get(EMBED_ORIGIN, ""))
    origin = ""
    if parsed is not None:
        scheme, host, port = parsed
        host = f"[{host}]" if ":" in host else host
        origin = f"{scheme}://{host}" + ("" if port == DEFAULT_PORTS[scheme] else f":{port}")
    return EmbedRequest(
        mode=mode,
        origin=origin,
        page=clean_page_url(params.get(EMBED_PAGE, "")),
        referrer=clean_page_url(params.get(EMBED_REFERRER, "")),
    )


# --- Hidden fields ---------------------------------------------------------------------

HIDDEN_VALUE_MAX = 200
# Names a hidden field cannot take: the link's attribution and embed.js's own parameters.
RESERVED_NAMES = frozenset(
    {
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
        "gclid",
        "gbraid",
        "wbraid",
        "fbclid",
        "msclkid",
        "ttclid",
        "li_fat_id",
        "preview",
        *EMBED_PARAMS,
    }
)

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
_OPTIONS.max_mem = 1 << 20


@functools.lru_cache(maxsize=512)
def compiled_pattern(pattern: str):
    """The marketer's pattern for RE2: linear time whatever it is, so a crafted value
    cannot make a worker spin (no backtracking). None when it does not compile."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error:
        return None


def hidden_field_problems(name: str, pattern: str) -> list[str]:
    problems = []
    if name in RESERVED_NAMES or name.startswith("qf_"):
        problems.append(
            f"“{name}” is read by Quizfunnel itself (attribution or embedding): choose another "
            "name."
        )
    if compiled_pattern(pattern) is None:
        problems.append(
            "The pattern is not a regular expression Quizfunnel can check (RE2 syntax: no "
            "back-references or look-arounds)."
        )
    return problems


def _printable(value: str) -> bool:
    """No markup, no control or format characters, no U+FFFD (a bad UTF-8 byte)."""
    if "<" in value or ">" in value or "\ufffd" in value:
        return False
    return not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in value)


def hidden_value_fits(value: str, pattern: str) -> bool:
    if not isinstance(value, str) or len(value) > HIDDEN_VALUE_MAX:
        return False
    if value != clean_text(value) or not _printable(value):
        return False
    compiled = compiled_pattern(pattern)
    return compiled is not None and compiled.fullmatch(value) is not None


@dataclass
class HiddenValues:
    kept: dict[str, str] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)  # names whose value did not fit


def hidden_values(
    declared: Iterable[tuple[str, str]], sources: Iterable[Mapping[str, list[str]]]
) -> HiddenValues:
    """The declared fields (name, pattern) read from `sources`, the first that has each.

    Undeclared parameters are ignored; an empty value is no value; a value that does
    not fit its pattern is dropped and its field named in `dropped` (never its value).
    """
    sources = list(sources)
    result = HiddenValues()
    for name, pattern in declared:
        for source in sources:
            values = source.get(name) or []
            if isinstance(values, str):
                values = [values]
            if not values:
                continue
            value = values[0].strip() if isinstance(values[0], str) else values[0]
            if value == "":
                break
            if hidden_value_fits(value, pattern):
                result.kept[name] = value
            else:
                result.dropped.append(name)
            break
    return result


def again_url(attempt) -> str:
    """The quiz's intro for another run; in embed.js's frame it stays in the frame (the
    embedding page's origin and address carried on, so height, events and attribution
    keep working)."""
    url = attempt.quiz.get_absolute_url()
    if not getattr(attempt, "embed_origin", ""):
        return url
    params = {EMBED_MODE: "inline", EMBED_ORIGIN: attempt.embed_origin}
    if attempt.embedded_on:
        params[EMBED_PAGE] = attempt.embedded_on
    return f"{url}?{urlencode(params)}"
