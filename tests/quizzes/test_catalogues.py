"""Every visitor-facing string is in each shipped catalogue, translated, and compiled."""

from __future__ import annotations

from pathlib import Path

import polib
import pytest
from django.conf import settings

from quizzes.catalogues import LANGUAGES, extract

LOCALE = Path(settings.BASE_DIR) / "locale"


def _key(entry) -> tuple[str | None, str]:
    return entry.msgctxt, entry.msgid


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> dict[str, set]:
    """The msgids the visitor-facing sources hold now (makemessages into a temp folder)."""
    folder = tmp_path_factory.mktemp("locale")
    extract(folder, LANGUAGES[:1])
    po = polib.pofile(str(folder / LANGUAGES[0] / "LC_MESSAGES" / "django.po"))
    return {_key(entry) for entry in po}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_visitor_facing_string_is_translated_in_each_catalogue(language, extracted):
    po = polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))
    shipped = {_key(entry): entry for entry in po if not entry.obsolete}
    missing = sorted(extracted - set(shipped), key=str)
    assert not missing, f"Not in locale/{language}: {missing[:5]} (run make messages, translate)"
    for key in extracted:
        entry = shipped[key]
        assert "fuzzy" not in entry.flags, f"{language}: fuzzy {key}"
        if entry.msgid_plural:
            assert all(entry.msgstr_plural.values()), f"{language}: untranslated plural {key}"
        else:
            assert entry.msgstr.strip(), f"{language}: untranslated {key}"
        if "python-format" in entry.flags:
            # The placeholders of the original, no more and no fewer.
            wanted = sorted(polib.re.findall(r"%\(\w+\)[sd]", entry.msgid))
            for text in entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]:
                assert sorted(polib.re.findall(r"%\(\w+\)[sd]", text)) == wanted, key


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_compiled_catalogue_matches_its_source(language):
    folder = LOCALE / language / "LC_MESSAGES"
    po = polib.pofile(str(folder / "django.po"))
    mo = {_key(entry): entry for entry in polib.mofile(str(folder / "django.mo"))}
    for entry in po.translated_entries():
        compiled = mo.get(_key(entry))
        assert compiled is not None, f"{language}: django.mo lacks {_key(entry)}: run make messages"
        if entry.msgid_plural:
            assert compiled.msgstr_plural == entry.msgstr_plural, _key(entry)
        else:
            assert compiled.msgstr == entry.msgstr, f"{language}: django.mo is stale: make messages"
