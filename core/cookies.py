"""Cookies a framed page can keep: `SameSite=None; Secure; Partitioned` (CHIPS).

A quiz embedded on another site is a third-party frame: browsers that block
third-party cookies (Safari, Firefox, Chrome's incognito) still keep a cookie that
is partitioned by the top-level site, so it cannot follow the visitor to other
sites. Django 5.2's `set_cookie` has no `partitioned` argument and Python before
3.14 has no such cookie attribute, so the cookie is set as usual and its Morsel is
swapped for one that writes the attribute.
"""

from __future__ import annotations

from http import cookies

from django.http import HttpResponse


class _PartitionedMorsel(cookies.Morsel):
    def OutputString(self, attrs=None) -> str:
        return super().OutputString(attrs) + "; Partitioned"


def partition_cookie(response: HttpResponse, name: str) -> None:
    """Mark the cookie `name` already set on `response` as Partitioned.

    Only for a Secure, SameSite=None cookie: browsers refuse Partitioned otherwise.
    """
    morsel = response.cookies[name]
    if "partitioned" in cookies.Morsel._reserved:  # Python 3.14 writes it itself
        morsel["partitioned"] = True
        return
    partitioned = _PartitionedMorsel()
    partitioned.set(morsel.key, morsel.value, morsel.coded_value)
    partitioned.update({key: value for key, value in morsel.items() if value != ""})
    dict.__setitem__(response.cookies, name, partitioned)
