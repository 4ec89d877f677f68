"""The Housing sites page per role (streamlit.testing, real loaded database; issue 14).

The public and the police read the ranking but can neither upload sites nor store a run; a
planner's stored run becomes the planners' weights the community view compares against.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from geo.i18n import t
from tests.conftest import signed_in_session

APP = "../app/Home.py"


def _housing(user=None, lang: str = "en") -> AppTest:  # noqa: ANN001
    at = AppTest.from_file(APP, default_timeout=300)
    state = signed_in_session(user) if user is not None else {}
    for key, value in {**state, "lang": lang}.items():
        at.session_state[key] = value
    at.run()
    at.switch_page("screens/housing.py")
    at.run()
    assert not at.exception, at.exception
    return at


def _buttons(at: AppTest) -> set[str]:
    return {b.label for b in at.button}


@pytest.mark.parametrize("role", [None, "police"])
def test_readers_see_the_ranking_but_cannot_store_or_upload(app_env, users, role):
    at = _housing(users[role] if role else None)
    assert at.title[0].value == t("sites.page.title", "en")
    assert t("sites.page.store", "en") not in _buttons(at)
    assert not at.get("file_uploader")
    ranked = at.dataframe[0].value
    assert len(ranked) == 8  # the eight demo parcels, one excluded
    assert (ranked[t("sites.page.col.rank", "en")] == "–").sum() == 1


def test_a_planners_stored_run_gives_the_community_view_its_planners_weights(app_env, users):
    at = _housing(users["planner"])
    assert t("sites.page.store", "en") in _buttons(at)
    next(b for b in at.button if b.label == t("sites.page.store", "en")).click().run()
    assert not at.exception, at.exception
    assert any("run" in s.value for s in at.success)
    community = _housing(users["community"])
    captions = " ".join(c.value for c in community.caption)
    assert t("sites.page.planners_default", "en") not in captions
    assert "The planners' weights are those of the last stored run" in captions
    assert t("sites.page.store", "en") not in _buttons(community)


def test_the_community_stores_its_weights_and_planners_see_them_side_by_side(app_env, users):
    community = _housing(users["community"])
    button = t("sites.page.store_community", "en")
    assert button in _buttons(community)
    next(b for b in community.button if b.label == button).click().run()
    assert not community.exception, community.exception
    planner = _housing(users["planner"])
    captions = " ".join(c.value for c in planner.caption)
    assert "The community's weights are those the community stored last" in captions
    # Ranked table, weights side by side, the two rankings (and the site's values).
    assert len(planner.dataframe) >= 3
    assert t("sites.page.compare_none", "en") not in captions


@pytest.mark.parametrize("lang", ["ro", "hu"])
def test_demo_parcels_are_tagged_in_the_readers_language(app_env, lang):
    """Every demo parcel's row ends with the DEMO tag of the page's language; no English words
    ride in on the site names."""
    at = _housing(None, lang)
    sites = at.dataframe[0].value[t("sites.page.col.site", lang)]
    assert len(sites) == 8
    tag = f" · {t('sites.page.demo_tag', lang)}"
    assert all(s.endswith(tag) for s in sites), list(sites)
    assert not any("demo parcel" in s or "Beside" in s for s in sites)
