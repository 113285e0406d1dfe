"""One contract for every audited write: the record and its data as keywords, an ``actor``, and the why named
``reason``. The writers are those tests/security/test_audit_integrity.py discovers and classifies as audited, so
a new service is held to the contract the day it is written."""

import inspect

import pytest

from tests.security.test_audit_integrity import AUDITED, _public_functions


def audited_writers() -> dict:
    found = _public_functions()
    return {name: found[name] for name in sorted(AUDITED) if name in found}


WRITERS = audited_writers()


def test_every_audited_writer_is_found():
    assert len(WRITERS) == len(AUDITED), sorted(set(AUDITED) - set(WRITERS))


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_writers_take_keywords_only(name):
    positional = [
        parameter.name
        for parameter in inspect.signature(WRITERS[name]).parameters.values()
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD, parameter.VAR_POSITIONAL)
    ]
    assert not positional, f"{name} takes {positional} by position; put them after '*'"


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_writers_name_their_actor(name):
    assert "actor" in inspect.signature(WRITERS[name]).parameters, f"{name} has no 'actor' parameter"


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_writers_take_a_reason(name):
    parameters = inspect.signature(WRITERS[name]).parameters
    assert "reason" in parameters, f"{name} takes no 'reason'"
    assert not {"note", "why", "comment"} & set(parameters), f"{name} names its reason otherwise"
