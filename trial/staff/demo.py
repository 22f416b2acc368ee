"""The demo trial's sites and one account per role (``seed_demo`` builds on them)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Permission

from trial.models import (
    Role,
    Site,
    SiteKind,
    SiteMembership,
    User,
)

DEMO_PASSWORD = "vertebra-demo-2026"  # noqa: S105 - printed to the demo user on purpose


@dataclass(frozen=True)
class DemoSite:
    code: str
    name: str
    surgery_code: str
    surgery_name: str


DEMO_SITES = [
    DemoSite(
        "AAR",
        "Aarhus Universitetshospital, Blodsygdomme",
        "AARS",
        "Aarhus Universitetshospital, Rygkirurgi",
    ),
    DemoSite(
        "ODE",
        "Odense Universitetshospital, Hæmatologisk Afdeling X",
        "ODES",
        "Odense Universitetshospital, Rygkirurgisk Sektion",
    ),
    DemoSite(
        "CPH",
        "Rigshospitalet, Afdeling for Blodsygdomme",
        "CPHS",
        "Rigshospitalet, Rygkirurgisk Klinik",
    ),
]


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str
    sites: tuple[str, ...]


DEMO_USERS = [
    DemoUser("hematologist", "Hanne", "Holm", Role.HEMATOLOGIST, ("AAR",)),
    DemoUser("hematologist.ode", "Ole", "Dahl", Role.HEMATOLOGIST, ("ODE",)),
    DemoUser("surgeon", "Søren", "Kirk", Role.SURGEON, ("AARS",)),
    DemoUser("nurse", "Nina", "Nørgaard", Role.NURSE, ("AAR",)),
    DemoUser("coordinator", "Karen", "Central", Role.COORDINATOR, ()),
    DemoUser("datamanager", "Dorte", "Data", Role.DATA_MANAGER, ()),
    DemoUser("monitor", "Mads", "Monitor", Role.MONITOR, ()),
]

# Django admin permissions for the roles that maintain sites and staff.
ADMIN_PERMISSIONS: dict[str, list[str]] = {
    Role.COORDINATOR: [
        "view_site",
        "add_site",
        "change_site",
        "view_user",
        "add_user",
        "change_user",
        "view_sitemembership",
        "add_sitemembership",
        "change_sitemembership",
        "delete_sitemembership",
        "view_participant",
    ],
    Role.DATA_MANAGER: ["view_site", "view_user", "view_sitemembership", "view_participant"],
}


# (status, how many of each base participant per site)
def demo_sites() -> dict[str, Site]:
    sites: dict[str, Site] = {}
    for demo in DEMO_SITES:
        surgery, _ = Site.objects.get_or_create(
            code=demo.surgery_code,
            defaults={"name": demo.surgery_name, "kind": SiteKind.SURGERY},
        )
        hematology, _ = Site.objects.get_or_create(
            code=demo.code,
            defaults={
                "name": demo.name,
                "kind": SiteKind.HEMATOLOGY,
                "surgical_partner": surgery,
            },
        )
        sites[surgery.code] = surgery
        sites[hematology.code] = hematology
    return sites


def demo_users(sites: dict[str, Site]) -> list[User]:
    users = []
    for demo in DEMO_USERS:
        user = User.objects.filter(username=demo.username).first()
        if user is None:
            user = User(
                username=demo.username,
                first_name=demo.first_name,
                last_name=demo.last_name,
                email=f"{demo.username}@vertebra.invalid",
                role=demo.role,
                is_staff=demo.role in ADMIN_PERMISSIONS,
            )
            user.set_password(DEMO_PASSWORD)
            user.save()
            codenames = ADMIN_PERMISSIONS.get(demo.role, [])
            if codenames:
                user.user_permissions.set(
                    Permission.objects.filter(
                        content_type__app_label="trial", codename__in=codenames
                    )
                )
        for code in demo.sites:
            SiteMembership.objects.get_or_create(user=user, site=sites[code])
        users.append(user)
    return users
