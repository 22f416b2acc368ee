"""factory_boy factories for the core domain."""

from __future__ import annotations

import datetime as dt
import random

import factory

from trial.cpr import fake_cpr
from trial.models import Identity, Participant, Role, Site, SiteKind, SiteMembership, User


class SurgicalSiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: "S" + "".join(chr(65 + int(d)) for d in f"{n:03d}"))
    name = factory.LazyAttribute(lambda o: f"Surgical department {o.code}")
    kind = SiteKind.SURGERY


class SiteFactory(factory.django.DjangoModelFactory):
    """A hematology department with its own collaborating surgical department."""

    class Meta:
        model = Site
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: "H" + "".join(chr(65 + int(d)) for d in f"{n:03d}"))
    name = factory.LazyAttribute(lambda o: f"Hematology {o.code}")
    kind = SiteKind.HEMATOLOGY
    surgical_partner = factory.SubFactory(
        SurgicalSiteFactory, code=factory.LazyAttribute(lambda o: o.factory_parent.code + "S")
    )


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"Person{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    role = Role.HEMATOLOGIST
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery-9")

    @factory.post_generation
    def sites(self, create, extracted, **kwargs):
        if create and extracted:
            for site in extracted:
                SiteMembership.objects.get_or_create(user=self, site=site)
        if create:
            self.save()


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participant

    site = factory.SubFactory(SiteFactory)
    sequence = factory.Sequence(lambda n: n + 1)
    trial_number = factory.LazyAttribute(lambda o: f"{o.site.code}-{o.sequence:03d}")
    initials = "AB"
    sex = "F"
    year_of_birth = 1950


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identity

    participant = factory.SubFactory(ParticipantFactory)
    full_name = factory.Sequence(lambda n: f"Testperson Nummer{n}")
    cpr = factory.LazyFunction(lambda: fake_cpr(dt.date(1950, 5, 17), "F", random.Random()))
    phone = "+45 12 34 56 78"
    email = factory.Sequence(lambda n: f"patient{n}@example.dk")
    address = "Testvej 1\n8000 Aarhus C"
