"""Builders for test data. Writes go through services where the behaviour under test depends on it;
factories here only set up the world around it."""

import factory
from django.contrib.auth import get_user_model

from evlims.core.models import Lab, Membership, Project, Role
from evlims.samples.models import Donor, Sample, StorageUnit


class LabFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lab

    name = factory.Sequence(lambda n: f"Lab {n}")
    slug = factory.Sequence(lambda n: f"lab-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def member(lab, role=Role.LAB_STAFF, **user_fields):
    user = UserFactory(**user_fields)
    Membership.objects.create(user=user, lab=lab, role=role)
    return user


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    lab = factory.SubFactory(LabFactory)
    code = factory.Sequence(lambda n: f"P{n:03d}")
    title = factory.Sequence(lambda n: f"Project {n}")


class DonorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Donor

    lab = factory.SubFactory(LabFactory)
    code = factory.Sequence(lambda n: f"D{n:04d}")
    sex = Donor.Sex.FEMALE
    age_band = "50-59"


class SampleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sample

    project = factory.SubFactory(ProjectFactory)
    lab = factory.SelfAttribute("project.lab")
    barcode = factory.Sequence(lambda n: f"TS-{n:06d}")
    biofluid = "blood_plasma"
    volume_ml = 4


def storage_box(lab, *, name="Box 1", rows=9, columns=9):
    site = StorageUnit.objects.create(lab=lab, kind="site", name=f"Site of {name}", path=f"Site of {name}")
    freezer = StorageUnit.objects.create(lab=lab, kind="freezer", parent=site, name="F1", path=f"{site.path} / F1")
    rack = StorageUnit.objects.create(lab=lab, kind="rack", parent=freezer, name="R1", path=f"{freezer.path} / R1")
    return StorageUnit.objects.create(
        lab=lab, kind="box", parent=rack, name=name, rows=rows, columns=columns, path=f"{rack.path} / {name}"
    )
