"""Fixtures of the workshop tests: the communities, and engines acting as the roles that run
(or may not run) workshops.  Import the ones a test module uses."""

from __future__ import annotations

import pytest

from geo.communities.model import Community
from geo.db.security import role_engine


@pytest.fixture
def pata_rat(loaded_engine):
    return Community.load(loaded_engine, "pata-rat")


@pytest.fixture
def dallas(loaded_engine):
    return Community.load(loaded_engine, "dallas")


def _acting(url, role):
    engine = role_engine(url, role)
    yield engine
    engine.dispose()


@pytest.fixture
def mediator(loaded_db_url):
    yield from _acting(loaded_db_url, "mediator")


@pytest.fixture
def member(loaded_db_url):
    """A community member running a workshop (role ``community``)."""
    yield from _acting(loaded_db_url, "community")


@pytest.fixture
def public(loaded_db_url):
    yield from _acting(loaded_db_url, "public")


@pytest.fixture
def planner(loaded_db_url):
    yield from _acting(loaded_db_url, "planner")
