"""Bots are recognised by a maintained crawler list, checked on real User-Agent strings.

The corpus (user_agents.tsv beside this file) holds what current phones, desktop
browsers, in-app browsers, crawlers, link previews, headless tools, HTTP libraries
and uptime monitors send, each with the verdict and device class we must give.
"""

from collections import Counter
from pathlib import Path

import pytest

from tracking.attribution import device_of

CORPUS = Path(__file__).with_name("user_agents.tsv")


def _corpus() -> list[tuple[str, str, str, str]]:
    rows = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            verdict, device, what, agent = line.split("\t")
            rows.append((verdict, device, what, agent))
    return rows


def test_the_corpus_covers_people_and_machines_of_every_kind():
    rows = _corpus()
    verdicts = Counter(verdict for verdict, *_ in rows)
    assert len(rows) >= 50 and verdicts["person"] >= 25 and verdicts["bot"] >= 25
    named = " ".join(what for _, _, what, _ in rows)
    for kind in (
        "iPhone",
        "Android",
        "CUBOT",
        "Chrome",
        "Firefox",
        "Safari",
        "Edge",
        "Instagram",
        "Facebook",
        "LinkedIn",
        "TikTok",
        "Googlebot",
        "Bingbot",
        "Headless",
        "curl",
        "UptimeRobot",
        "Pingdom",
    ):
        assert kind in named, kind


@pytest.mark.parametrize(
    ("verdict", "device", "agent"),
    [pytest.param(v, d, a, id=what) for v, d, what, a in _corpus()],
)
def test_each_user_agent_gets_its_verdict_and_device(verdict, device, agent):
    assert device_of(agent) == (device, verdict == "bot")


def test_a_phone_whose_brand_contains_bot_is_a_person():
    agent = (
        "Mozilla/5.0 (Linux; Android 13; CUBOT KINGKONG 7) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"
    )
    assert device_of(agent) == ("mobile", False)


def test_no_user_agent_is_unknown_and_not_a_bot():
    assert device_of("") == ("unknown", False)
    assert device_of("\x00 ") == ("unknown", False)
