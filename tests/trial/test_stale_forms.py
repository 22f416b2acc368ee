"""A page loaded before someone else saved the same form, saved afterwards: refused with who
saved what, the user's own entries kept, and saving again after seeing them replaces them.
One save after the other, no threads (the races are in test_concurrency_forms.py)."""

from __future__ import annotations

import pytest

from tests.conftest import verified_client
from tests.races import page_version
from tests.trial.form_cases import CASES, SAVED_MEANWHILE, conflict_box

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fixed_day")]


@pytest.fixture(autouse=True)
def _in_english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.mark.parametrize("name", CASES)
def test_a_page_loaded_before_another_save_is_refused_with_the_saved_values(world, name):
    case = CASES[name](world)
    first, second = (verified_client(user) for user in case.users)
    version = page_version(second.get(case.url))
    assert page_version(first.get(case.url)) == version

    saved = first.post(case.url, {**case.posts[0], "version": version})
    assert saved.status_code == 302, saved.context["form"].errors
    stale = second.post(case.url, {**case.posts[1], "version": version})

    assert stale.status_code == 200
    page = stale.content.decode()
    assert SAVED_MEANWHILE in page
    box = conflict_box(page)
    assert case.users[0].get_full_name() in box  # who saved
    assert all(v in box for v in case.marks.shown[0])  # and what
    assert case.marks.typed[1] in page  # the second person's entries, still in the form
    assert case.stored() == case.marks.keys[0]

    # Seen the saved values and still sure: saving again, with a reason, replaces them.
    again = second.post(
        case.url,
        {
            **case.posts[1],
            case.reason_field: "compared with the saved values",
            "version": page_version(stale),
        },
    )
    assert again.status_code == 302, again.context["form"].errors
    assert case.stored() == case.marks.keys[1]
