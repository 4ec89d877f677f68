"""Every string a person reads exists in every language, with the same placeholders."""

from __future__ import annotations

import string

import pytest

from geo.i18n import LANGUAGES, catalogue, missing_keys, t


def _placeholders(message: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(message) if name}


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_catalogue_complete(lang):
    assert missing_keys(lang) == set()
    extra = set(catalogue(lang)) - set(catalogue("en"))
    assert extra == set(), f"keys only in {lang}: {sorted(extra)}"


@pytest.mark.parametrize("lang", ["ro", "hu"])
def test_placeholders_match_english(lang):
    english = catalogue("en")
    for key, message in catalogue(lang).items():
        assert _placeholders(message) == _placeholders(english[key]), key


@pytest.mark.parametrize("lang", ["ro", "hu"])
def test_translations_are_not_english_copies(lang):
    english = catalogue("en")
    same = [k for k, v in catalogue(lang).items() if v == english[k] and len(v) > 12]
    # A few technical strings may coincide; whole catalogues copied from English may not.
    assert len(same) <= max(3, len(english) // 20), same


def test_t_fills_placeholders_and_falls_back_to_the_key():
    assert t("app.home.demo_notice", "en", count=3).startswith("3 rows")
    assert t("app.does.not.exist", "ro") == "app.does.not.exist"


def test_numbers_use_each_languages_separators():
    from geo.i18n import number

    assert [number(28.93, lang, 1) for lang in ("ro", "hu", "en")] == ["28,9", "28,9", "28.9"]
    assert number(46.256, "ro", 2) == "46,26"
    assert number(12345, "en") == "12,345"
    assert number(12345, "ro") == "12.345"
    assert number(float("nan"), "hu") == "–"


def test_dates_are_written_per_language_in_their_own_zone():
    import datetime as dt

    from geo.i18n import date

    assert date(dt.date(2026, 12, 1), "en") == "1 Dec 2026"
    assert date(dt.date(2026, 12, 1), "hu").startswith("2026.")
    at = dt.datetime(2026, 12, 1, 6, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert date(at, "ro", with_time=True).endswith("06:05")
