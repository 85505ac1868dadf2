"""A crafted link, cookie or header never breaks the quiz pages, and never poisons a
browser: touch values are cleaned and bounded before anything is stored or signed,
an unreadable cookie is discarded, and every cookie we set reads back."""

import uuid
from http.cookies import SimpleCookie
from urllib.parse import quote

import pytest
from django.core import signing
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.models import Lead
from tests.visitor import HOT_RUN, answer, question, result_url, start, step_url, submit_lead
from tracking.attribution import (
    CLICK_IDS,
    COOKIE_SALT,
    FIRST_TOUCH_COOKIE,
    LAST_TOUCH_COOKIE,
    UTM_PARAMS,
    VISITOR_COOKIE,
)
from tracking.models import ConversionEvent

pytestmark = pytest.mark.django_db
OURS = (VISITOR_COOKIE, FIRST_TOUCH_COOKIE, LAST_TOUCH_COOKIE)


def _set(response) -> dict[str, str]:
    return {name: m.value for name, m in response.cookies.items() if name in OURS}


def _reads_back(quiz, cookies: dict[str, str]) -> None:
    """A browser that kept these cookies is served, and is not handed them again."""
    browser = Client()
    for name, value in cookies.items():
        browser.cookies[name] = value
    response = browser.get(quiz.get_absolute_url())
    assert response.status_code == 200
    assert not set(_set(response)) & set(cookies), "a cookie we set could not be read back"


def _finish(client, quiz):
    attempt = start(client, quiz)
    for text, labels, kwargs in HOT_RUN:
        answer(client, attempt, text, *labels, **kwargs)
    submit_lead(client, attempt)
    assert client.get(result_url(attempt)).status_code == 200
    return attempt


def test_a_link_holding_nul_bytes_is_cleaned_before_it_is_stored_or_signed(client, scorecard):
    response = client.get(
        scorecard.get_absolute_url() + "?utm_source=news%00letter&utm_campaign=%00&gclid=a%00b"
    )
    assert response.status_code == 200
    _finish(client, scorecard)
    touch = Lead.objects.get().attribution["first_touch"]
    assert (touch["utm_source"], touch["gclid"]) == ("newsletter", "ab")
    assert "utm_campaign" not in touch  # nothing left once cleaned
    for event in ConversionEvent.objects.all():
        assert "\\u0000" not in str(event.first_touch) and "\x00" not in str(event.first_touch)
    _reads_back(scorecard, _set(response))


def test_text_that_grows_when_lowercased_is_bounded_after_lowercasing(client, scorecard):
    response = client.get(scorecard.get_absolute_url(), {"utm_source": "İ" * 60})
    assert response.status_code == 200
    _finish(client, scorecard)
    sources = set(ConversionEvent.objects.values_list("ft_source", flat=True))
    assert sources == {("i̇" * 60)[:100]}
    assert len(Lead.objects.get().source) <= 100
    _reads_back(scorecard, _set(response))


def test_a_link_too_big_for_a_cookie_still_gives_a_cookie_a_browser_keeps(client, scorecard):
    # Distinct characters beyond the BMP: twelve characters of JSON each, and they do
    # not compress.
    def noise(offset: int) -> str:
        return "".join(chr(0x20000 + (offset + 7919 * i) % 40000) for i in range(300))

    keys = (*UTM_PARAMS, *CLICK_IDS)
    params = {key: noise(n) for n, key in enumerate(keys)}
    response = client.get(scorecard.get_absolute_url(), params)
    assert response.status_code == 200
    for morsel in response.cookies.values():
        assert len(morsel.OutputString()) < 4096  # a browser drops a longer cookie
    assert ConversionEvent.objects.get().first_touch["utm_source"] == noise(0)[:100]
    _reads_back(scorecard, _set(response))


@pytest.mark.parametrize("header", ["Referer", "Origin"])
@pytest.mark.parametrize("value", ["http://[", "http://[::1", "//[x]:", "http://]/", "http://[x]/"])
def test_a_malformed_referer_or_origin_is_ignored(client, scorecard, header, value):
    response = client.get(scorecard.get_absolute_url(), headers={header: value})
    assert response.status_code == 200
    attempt = start(client, scorecard)
    url = step_url(attempt, question(scorecard, "Do you advertise?"))
    assert client.get(url, headers={header: value}).status_code == 200
    assert (
        answer(client, attempt, "Do you advertise?", "Yes", headers={header: value}).status_code
        == 302
    )
    assert "referrer" not in attempt.first_touch
    # Django's CSRF check parses them too, and refuses with a 403.
    strict = Client(enforce_csrf_checks=True)
    start_url = f"/q/{scorecard.slug}/start/"
    assert strict.post(start_url, {"start_key": "x"}, headers={header: value}).status_code == 403


def test_the_events_endpoint_refuses_a_malformed_origin_with_a_403(client, scorecard):
    client.get(scorecard.get_absolute_url())
    for value in ("http://[", "http://[::1"):
        for header in ("Origin", "Referer"):
            response = client.post(
                "/t/events", "{}", content_type="application/json", headers={header: value}
            )
            assert response.status_code == 403, (header, value)


def test_cookies_that_cannot_be_read_are_discarded_and_replaced(scorecard):
    browser = Client()
    browser.cookies[VISITOR_COOKIE] = "x" * 5000
    browser.cookies[FIRST_TOUCH_COOKIE] = "not:a:signed:value"
    # Signed with our key, but its compressed payload is not zlib data.
    junk = "." + signing.b64_encode(b"not zlib").decode()
    browser.cookies[LAST_TOUCH_COOKIE] = signing.TimestampSigner(
        salt=COOKIE_SALT + LAST_TOUCH_COOKIE
    ).sign(junk)
    response = browser.get(scorecard.get_absolute_url() + "?utm_source=ok")
    assert response.status_code == 200
    assert set(_set(response)) == set(OURS)
    _reads_back(scorecard, _set(response))


def test_a_signed_cookie_from_before_the_cleaning_is_cleaned_when_read(scorecard):
    # What an older version signed from a crafted link: valid signature, bad content.
    old = {"utm_source": "a\x00b" + "İ" * 200, "landing_path": "/q/x/", "evil": "x" * 9000}
    browser = Client()
    browser.cookies[FIRST_TOUCH_COOKIE] = signing.dumps(
        old, salt=COOKIE_SALT + FIRST_TOUCH_COOKIE, compress=True
    )
    assert browser.get(scorecard.get_absolute_url()).status_code == 200
    start(browser, scorecard)
    event = ConversionEvent.objects.get(name="quiz_started")
    assert event.first_touch == {"utm_source": ("ab" + "İ" * 200)[:100], "landing_path": "/q/x/"}
    browser.cookies[FIRST_TOUCH_COOKIE] = signing.dumps(
        ["not", "a", "touch"], salt=COOKIE_SALT + FIRST_TOUCH_COOKIE, compress=True
    )
    assert FIRST_TOUCH_COOKIE in browser.get(scorecard.get_absolute_url()).cookies  # replaced
    assert len(event.ft_source) <= 100


def test_a_server_error_sets_no_tracking_cookie(scorecard, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("quizzes.views.quiz_view", broken)
    browser = Client(raise_request_exception=False)
    response = browser.get(scorecard.get_absolute_url() + "?utm_source=newsletter")
    assert response.status_code == 500
    assert not _set(response)


# --- Hypothesis: hostile query strings, cookies and headers over the quiz pages ------

# Anything a URL can carry: any text (lone surrogates become invalid UTF-8 bytes), or
# raw percent-encoded bytes.
_url_text = st.one_of(
    st.text(max_size=300).map(lambda s: quote(s.encode("utf-8", "surrogatepass"), safe="")),
    st.binary(max_size=200).map(lambda b: quote(b, safe="")),
    st.sampled_from(["İ" * 60, "%00", "%ED%A0%80", "%C0%80", "%", "%zz", "+" * 50]),
)
_keys = st.sampled_from([*UTM_PARAMS, *CLICK_IDS, "preview", "x", "utm_source[]", ""])
query_strings = st.lists(st.tuples(_keys, _url_text), max_size=8).map(
    lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)
)
# What a real server hands Django for a header: text of ISO-8859-1 characters.
_header_text = st.one_of(
    st.text(st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=300),
    st.sampled_from(["http://[", "http://[::1", "https://www.example.com/?a=b", "//", "\x00"]),
)
_cookie_value = st.one_of(
    _header_text,
    st.sampled_from(['"', "\\", ":" * 20, "a:b:c", "x" * 5000]),
    st.builds(
        lambda value, name: signing.dumps(value, salt=COOKIE_SALT + name, compress=True),
        st.one_of(
            st.dictionaries(st.text(max_size=20), st.text(max_size=200), max_size=6),
            st.lists(st.integers(), max_size=3),
            st.text(max_size=50),
            st.integers(),
        ),
        st.sampled_from([FIRST_TOUCH_COOKIE, LAST_TOUCH_COOKIE]),
    ),
)
cookie_jars = st.dictionaries(st.sampled_from(OURS), _cookie_value, max_size=3)
header_sets = st.dictionaries(
    st.sampled_from(["Referer", "Origin", "User-Agent", "HX-Request", "HX-Current-URL"]),
    _header_text,
    max_size=4,
)
hostile = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _browser(cookies: dict[str, str], headers: dict[str, str]) -> Client:
    jar = SimpleCookie()
    for name, value in cookies.items():
        jar[name] = value
    browser = Client(headers=headers, raise_request_exception=False)
    browser.cookies = jar
    return browser


@pytest.fixture
def finished(scorecard):
    return _finish(Client(), scorecard)


@hostile
@given(query=query_strings, cookies=cookie_jars, headers=header_sets)
def test_the_intro_and_the_result_never_fail_on_hostile_input_and_their_cookies_read_back(
    scorecard, finished, query, cookies, headers
):
    response = _browser(cookies, headers).get(f"{scorecard.get_absolute_url()}?{query}")
    assert response.status_code < 500
    _reads_back(scorecard, _set(response))
    result = _browser(cookies, headers).get(f"{result_url(finished)}?{query}")
    assert result.status_code == 200
    _reads_back(scorecard, _set(result))


@hostile
@given(query=query_strings, cookies=cookie_jars, headers=header_sets)
def test_starting_and_answering_never_fail_on_hostile_input(scorecard, query, cookies, headers):
    browser = _browser(cookies, headers)
    url = f"/q/{scorecard.slug}/start/?{query}"
    response = browser.post(url, {"start_key": str(uuid.uuid4())})
    assert response.status_code < 500
    if response.status_code != 302:
        return
    _reads_back(scorecard, _set(response))
    step = f"{response['Location']}?{query}"
    assert browser.get(step).status_code < 500
    q = question(scorecard, "Do you advertise?")
    posted = browser.post(step, {"answer": str(q.choices.get(label="Yes").pk)})
    assert posted.status_code < 500
