"""One contract for every audited write: the record and its data as keywords, an ``actor``, and the why named
``reason``. The writers are those tests/security/test_audit_integrity.py discovers and classifies as audited, so
a new service is held to the contract the day it is written."""

import inspect

import pytest

from tests.security.test_audit_integrity import AUDITED, _public_functions

# Writers that do not take a reason yet. The list may only shrink: a writer that gains ``reason`` must leave
# it (the last test fails otherwise), and a new writer without one fails the reason test. Signing services
# name the signed text ``statement`` (the meaning of the signature, a different thing from a reason).
WITHOUT_REASON = frozenset(
    {
        "evlims.characterization.services.imaging_record_with_images",
        "evlims.instruments.file_ingestion.file_upload",
        "evlims.instruments.services.api_key_issue",
        "evlims.instruments.services.instrument_register",
        "evlims.instruments.services.raw_file_store",
        "evlims.isolation.services.protocols.library_load",
        "evlims.samples.services.manifests.manifest_commit",
        "evlims.samples.services.manifests.manifest_mark_failed",
        "evlims.samples.services.manifests.manifest_queue_commit",
        "evlims.samples.services.manifests.manifest_upload",
        "evlims.samples.services.manifests.manifest_validate",
    }
)


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


@pytest.mark.parametrize("name", sorted(set(WRITERS) - WITHOUT_REASON))
def test_writers_take_a_reason(name):
    parameters = inspect.signature(WRITERS[name]).parameters
    assert "reason" in parameters, f"{name} takes no 'reason'"
    assert not {"note", "why", "comment"} & set(parameters), f"{name} names its reason otherwise"


def test_the_list_of_writers_without_a_reason_only_shrinks():
    gained = sorted(name for name in WITHOUT_REASON if "reason" in inspect.signature(WRITERS[name]).parameters)
    unknown = sorted(WITHOUT_REASON - set(WRITERS))
    assert not gained, f"take these off WITHOUT_REASON, they take a reason now: {gained}"
    assert not unknown, f"not audited writers (renamed or removed?): {unknown}"
