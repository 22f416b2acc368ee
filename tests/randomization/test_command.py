"""python manage.py envelopes_generate: the same service as the page."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from randomization.models import Envelope, EnvelopeBatch


def test_it_generates_a_batch(world):
    out = StringIO()
    call_command(
        "envelopes_generate", "--site", "AAR", "--stratum", "a1n", "--count", "40", stdout=out
    )
    batch = EnvelopeBatch.objects.get()
    assert batch.size == 40 and batch.stratum == "A1N" and batch.site == world.own
    assert list(batch.block_sizes) == [2, 4]
    assert Envelope.objects.filter(batch=batch).count() == 40
    assert "AAR-A1N-001" in out.getvalue() and "AAR-A1N-040" in out.getvalue()


def test_it_takes_block_sizes(world):
    call_command(
        "envelopes_generate",
        "--site",
        "AAR",
        "--stratum",
        "B2Y",
        "--count",
        "12",
        "--block-sizes",
        "4,6",
        stdout=StringIO(),
    )
    assert set(Envelope.objects.values_list("block_size", flat=True)) <= {4, 6}


@pytest.mark.parametrize(
    "args",
    [
        ["--site", "XXX", "--stratum", "A1N", "--count", "4"],
        ["--site", "AAR", "--stratum", "Z9Z", "--count", "4"],
        ["--site", "AAR", "--stratum", "A1N", "--count", "0"],
        ["--site", "AAR", "--stratum", "A1N", "--count", "4", "--block-sizes", "3"],
    ],
)
def test_it_refuses_bad_arguments(world, args):
    with pytest.raises(CommandError):
        call_command("envelopes_generate", *args, stdout=StringIO())
    assert not Envelope.objects.exists()
