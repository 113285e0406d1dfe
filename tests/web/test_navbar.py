"""The navbar's data: the user's labs and roles, and the link to imports when that area is installed."""

from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse

from evlims.core.models import Membership, Role
from evlims.web import context_processors


def test_lists_every_lab_with_its_role(rf: RequestFactory, staff, other_lab):
    Membership.objects.create(user=staff, lab=other_lab, role=Role.QA_MANAGER)
    request = rf.get("/")
    request.user = staff
    context = context_processors.evlims(request)
    assert [(m.lab.name, m.get_role_display()) for m in context["evlims_memberships"]] == [
        ("Other Lab", "QA manager"),
        ("Vesicle Lab", "Lab staff"),
    ]


def test_anonymous_visitors_get_nothing(rf: RequestFactory, client):
    from django.contrib.auth.models import AnonymousUser

    request = rf.get("/")
    request.user = AnonymousUser()
    assert context_processors.evlims(request) == {}
    html = client.get(reverse("evlims:login")).content.decode()
    assert "Log out" not in html and "Sign in" in html


def test_imports_link_only_when_the_page_exists(rf: RequestFactory, staff, monkeypatch):
    request = rf.get("/")
    request.user = staff
    try:
        expected = reverse("evlims:import-list")
    except NoReverseMatch:
        expected = None
    assert context_processors.evlims(request)["evlims_imports_url"] == expected

    def missing(name, *args, **kwargs):
        raise NoReverseMatch(name)

    monkeypatch.setattr(context_processors, "reverse", missing)
    assert context_processors.evlims(request)["evlims_imports_url"] is None
