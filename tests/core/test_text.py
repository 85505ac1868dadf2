from hypothesis import given
from hypothesis import strategies as st

from core.text import clean_lower, clean_text, clip


def test_nul_bytes_and_lone_surrogates_are_removed():
    assert clean_text("a\x00b\ud800c") == "abc"


def test_length_is_checked_after_lowercasing():
    # “İ” lowercases to two code points: the stored value is what must fit.
    assert len(clean_lower("İ" * 60)) == 120


@given(st.text(), st.integers(min_value=0, max_value=200))
def test_clipped_text_always_fits_and_encodes(value, limit):
    clipped = clip(value, limit)
    assert len(clipped) <= limit
    clipped.encode("utf-8")  # no lone surrogate left
    assert "\x00" not in clipped
