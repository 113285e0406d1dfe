"""The demo runs the newest released version of each shipped protocol, whatever order the database returns."""

import pytest

from evlims.demo.isolation import _version_key, library_versions
from evlims.isolation.models import ProtocolVersion


def test_version_numbers_compare_as_numbers():
    assert sorted(["1.10.0", "1.9.0", "1.1.0", "2.0.0"], key=_version_key) == ["1.1.0", "1.9.0", "1.10.0", "2.0.0"]


@pytest.mark.django_db
def test_each_protocol_maps_to_its_newest_approved_version():
    chosen = library_versions()
    approved = ProtocolVersion.objects.filter(
        from_library=True, status=ProtocolVersion.Status.APPROVED, protocol__lab__isnull=True
    ).select_related("protocol")
    by_slug: dict[str, list[str]] = {}
    for version in approved:
        by_slug.setdefault(version.protocol.slug, []).append(version.version)
    assert set(chosen) == set(by_slug)
    assert any(len(versions) > 1 for versions in by_slug.values()), "the library ships a corrected version"
    for slug, versions in by_slug.items():
        assert chosen[slug].version == max(versions, key=_version_key)
