"""Tests for the permuted-block core (no Django settings needed)."""

from __future__ import annotations

import dataclasses
import random
import secrets
from collections import Counter, defaultdict

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from randomization import blocks
from randomization.blocks import (
    ARMS,
    CONSERVATIVE,
    DEFAULT_BLOCK_SIZES,
    PVP,
    Allocation,
    generate_allocation_sequence,
    max_running_imbalance,
    permuted_blocks,
    validate_block_sizes,
    verify_sequence,
)

# Distinct positive even sizes, as a coordinator might configure them.
block_size_sets = st.lists(
    st.integers(min_value=1, max_value=8).map(lambda n: 2 * n),
    min_size=1,
    max_size=4,
    unique=True,
)
counts = st.integers(min_value=1, max_value=120)
# Hypothesis-controlled Random: reproducible and shrinkable.
rngs = st.randoms(use_true_random=False)


def by_block(allocations: list[Allocation]) -> dict[int, list[Allocation]]:
    grouped: dict[int, list[Allocation]] = defaultdict(list)
    for a in allocations:
        grouped[a.block_number].append(a)
    return grouped


# --- Constants -----------------------------------------------------------


def test_arm_constants() -> None:
    assert PVP == "pvp"
    assert CONSERVATIVE == "conservative"
    assert ARMS == (PVP, CONSERVATIVE)
    assert DEFAULT_BLOCK_SIZES == (2, 4)


# --- Properties of generated sequences ----------------------------------


@given(count=counts, sizes=block_size_sets, rng=rngs)
def test_exactly_count_items(count: int, sizes: list[int], rng: random.Random) -> None:
    assert len(generate_allocation_sequence(count, sizes, rng=rng)) == count


@given(count=counts, sizes=block_size_sets, rng=rngs)
def test_sequence_numbers_unique_and_contiguous_from_one(
    count: int, sizes: list[int], rng: random.Random
) -> None:
    allocations = generate_allocation_sequence(count, sizes, rng=rng)
    assert [a.sequence for a in allocations] == list(range(1, count + 1))


@given(count=counts, sizes=block_size_sets, rng=rngs)
def test_every_complete_block_is_balanced(count: int, sizes: list[int], rng: random.Random) -> None:
    for members in by_block(generate_allocation_sequence(count, sizes, rng=rng)).values():
        if len(members) == members[0].block_size:
            arm_counts = Counter(a.arm for a in members)
            assert arm_counts[PVP] == arm_counts[CONSERVATIVE] == len(members) // 2


@given(count=counts, sizes=block_size_sets, rng=rngs)
def test_only_final_block_may_be_incomplete_and_is_never_over_half(
    count: int, sizes: list[int], rng: random.Random
) -> None:
    grouped = by_block(generate_allocation_sequence(count, sizes, rng=rng))
    numbers = sorted(grouped)
    assert numbers == list(range(1, len(numbers) + 1))
    for number in numbers[:-1]:
        assert len(grouped[number]) == grouped[number][0].block_size
    final = grouped[numbers[-1]]
    assert 1 <= len(final) <= final[0].block_size
    assert max(Counter(a.arm for a in final).values()) <= final[0].block_size // 2


@given(count=counts, sizes=block_size_sets, rng=rngs)
def test_block_positions_consistent(count: int, sizes: list[int], rng: random.Random) -> None:
    for members in by_block(generate_allocation_sequence(count, sizes, rng=rng)).values():
        assert [a.position_in_block for a in members] == list(range(1, len(members) + 1))
        assert len({a.block_size for a in members}) == 1


@given(count=counts, sizes=block_size_sets, rng=rngs)
def test_uses_only_given_block_sizes(count: int, sizes: list[int], rng: random.Random) -> None:
    allocations = generate_allocation_sequence(count, sizes, rng=rng)
    assert {a.block_size for a in allocations} <= set(sizes)
    assert {a.arm for a in allocations} <= set(ARMS)


@given(count=counts, sizes=block_size_sets, rng=rngs)
def test_running_imbalance_never_exceeds_half_largest_block(
    count: int, sizes: list[int], rng: random.Random
) -> None:
    arms = permuted_blocks(count, sizes, rng=rng)
    assert max_running_imbalance(arms) <= max(sizes) // 2


@given(count=counts, sizes=block_size_sets, seed=st.integers())
def test_permuted_blocks_is_the_arms_of_the_full_sequence(
    count: int, sizes: list[int], seed: int
) -> None:
    full = generate_allocation_sequence(count, sizes, rng=random.Random(seed))
    assert permuted_blocks(count, sizes, rng=random.Random(seed)) == [a.arm for a in full]


def test_seeded_rng_is_reproducible() -> None:
    first = generate_allocation_sequence(50, rng=random.Random(1234))
    second = generate_allocation_sequence(50, rng=random.Random(1234))
    assert first == second


def test_both_sizes_and_both_leading_arms_occur() -> None:
    """Sizes and permutations really vary (a constant generator would pass the balance tests)."""
    allocations = generate_allocation_sequence(4000, (2, 4), rng=random.Random(20240601))
    grouped = by_block(allocations)
    size_counts = Counter(members[0].block_size for members in grouped.values())
    assert size_counts[2] > 0.4 * len(grouped)
    assert size_counts[4] > 0.4 * len(grouped)
    leading = Counter(members[0].arm for members in grouped.values())
    assert leading[PVP] > 0.4 * len(grouped)
    assert leading[CONSERVATIVE] > 0.4 * len(grouped)
    # All six orders of a block of 4 appear.
    orders = {tuple(a.arm for a in m) for m in grouped.values() if len(m) == 4}
    assert len(orders) == 6


# --- The random source ---------------------------------------------------


def test_default_rng_is_secrets_system_random(monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[random.Random] = []

    class RecordingSystemRandom(random.Random):
        """Stands in for secrets.SystemRandom; seeded so the test is deterministic."""

        def __init__(self) -> None:
            super().__init__(7)
            self.calls = 0
            created.append(self)

        def random(self) -> float:
            self.calls += 1
            return super().random()

        def getrandbits(self, k: int, /) -> int:
            self.calls += 1
            return super().getrandbits(k)

    monkeypatch.setattr(secrets, "SystemRandom", RecordingSystemRandom)
    allocations = generate_allocation_sequence(10)
    assert len(created) == 1
    assert created[0].calls > 0
    assert verify_sequence(allocations) == []


def test_explicit_rng_bypasses_system_random(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden() -> random.Random:
        raise AssertionError("SystemRandom must not be created when an rng is given")

    monkeypatch.setattr(secrets, "SystemRandom", forbidden)
    assert len(permuted_blocks(6, rng=random.Random(3))) == 6


def test_module_refers_to_the_secrets_module() -> None:
    # The default must come from the secrets module, not the random module's
    # Mersenne Twister.
    assert blocks.secrets is secrets
    assert issubclass(secrets.SystemRandom, random.SystemRandom)


def test_default_rng_works_for_real() -> None:
    allocations = generate_allocation_sequence(37)
    assert len(allocations) == 37
    assert verify_sequence(allocations) == []


# --- Validation ----------------------------------------------------------


@pytest.mark.parametrize("count", [0, -1, -100])
def test_count_must_be_at_least_one(count: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        generate_allocation_sequence(count)


@pytest.mark.parametrize("count", [True, 1.5, "3", None])
def test_count_must_be_an_int(count: object) -> None:
    with pytest.raises(ValueError, match="whole number"):
        generate_allocation_sequence(count)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ((), "At least one block size"),
        ([], "At least one block size"),
        ((3,), "odd"),
        ((2, 5), "odd"),
        ((0,), "positive"),
        ((-2,), "positive"),
        ((2, 2), "distinct"),
        ((2, 4, 4), "distinct; repeated: 4"),
        ((2.0,), "whole number"),
        ((True,), "whole number"),
        ("24", "not a string"),
    ],
)
def test_invalid_block_sizes(sizes: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_allocation_sequence(4, sizes)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        validate_block_sizes(sizes)  # type: ignore[arg-type]


def test_validate_block_sizes_returns_tuple() -> None:
    assert validate_block_sizes([4, 2, 6]) == (4, 2, 6)


# --- max_running_imbalance ----------------------------------------------


@pytest.mark.parametrize(
    ("arms", "expected"),
    [
        ([], 0),
        ([PVP], 1),
        ([PVP, CONSERVATIVE], 1),
        ([PVP, CONSERVATIVE, CONSERVATIVE, PVP], 1),
        ([PVP, PVP, CONSERVATIVE, CONSERVATIVE], 2),
        ([CONSERVATIVE, CONSERVATIVE, CONSERVATIVE, PVP], 3),
    ],
)
def test_max_running_imbalance_examples(arms: list[str], expected: int) -> None:
    assert max_running_imbalance(arms) == expected


@given(st.lists(st.sampled_from(ARMS), max_size=60))
def test_max_running_imbalance_matches_brute_force(arms: list[str]) -> None:
    expected = max(
        (abs(arms[:n].count(PVP) - arms[:n].count(CONSERVATIVE)) for n in range(len(arms) + 1)),
        default=0,
    )
    assert max_running_imbalance(arms) == expected
    assert max_running_imbalance(iter(arms)) == expected


def test_max_running_imbalance_rejects_unknown_arm() -> None:
    with pytest.raises(ValueError, match="Item 2 has unknown arm 'placebo'"):
        max_running_imbalance([PVP, "placebo"])


# --- verify_sequence: sound sequences -----------------------------------


@given(count=counts, sizes=block_size_sets, rng=rngs)
def test_verify_accepts_generated_sequences(
    count: int, sizes: list[int], rng: random.Random
) -> None:
    assert verify_sequence(generate_allocation_sequence(count, sizes, rng=rng)) == []


@given(count=counts, sizes=block_size_sets, rng=rngs, data=st.data())
def test_verify_ignores_input_order(
    count: int, sizes: list[int], rng: random.Random, data: st.DataObject
) -> None:
    allocations = generate_allocation_sequence(count, sizes, rng=rng)
    shuffled = data.draw(st.permutations(allocations))
    assert verify_sequence(shuffled) == []


def test_verify_accepts_a_batch_that_does_not_start_at_one() -> None:
    allocations = generate_allocation_sequence(12, rng=random.Random(5))
    shifted = [dataclasses.replace(a, sequence=a.sequence + 100) for a in allocations]
    assert verify_sequence(shifted) == []


def test_verify_accepts_a_generator() -> None:
    allocations = generate_allocation_sequence(12, rng=random.Random(5))
    assert verify_sequence(a for a in allocations) == []


# --- verify_sequence: tampered sequences --------------------------------


def flip(arm: str) -> str:
    return CONSERVATIVE if arm == PVP else PVP


@given(sizes=block_size_sets, rng=rngs, data=st.data())
def test_verify_catches_a_flipped_arm_in_a_complete_block(
    sizes: list[int], rng: random.Random, data: st.DataObject
) -> None:
    count = data.draw(st.integers(min_value=max(sizes), max_value=120))
    allocations = generate_allocation_sequence(count, sizes, rng=rng)
    # count >= the largest size, so at least the first block is complete.
    grouped = by_block(allocations)
    complete = [
        i for i, a in enumerate(allocations) if len(grouped[a.block_number]) == a.block_size
    ]
    assume(complete)
    index = data.draw(st.sampled_from(complete))
    tampered = list(allocations)
    tampered[index] = dataclasses.replace(tampered[index], arm=flip(tampered[index].arm))
    problems = verify_sequence(tampered)
    assert any(f"Block {tampered[index].block_number} has" in p for p in problems), problems


@given(sizes=block_size_sets, rng=rngs, data=st.data())
def test_verify_catches_a_gap(sizes: list[int], rng: random.Random, data: st.DataObject) -> None:
    count = data.draw(st.integers(min_value=3, max_value=120))
    allocations = generate_allocation_sequence(count, sizes, rng=rng)
    index = data.draw(st.integers(min_value=1, max_value=count - 2))
    removed = allocations[index]
    tampered = allocations[:index] + allocations[index + 1 :]
    problems = verify_sequence(tampered)
    assert f"Sequence number {removed.sequence} is missing." in problems


@given(count=counts, sizes=block_size_sets, rng=rngs, data=st.data())
def test_verify_catches_a_duplicate(
    count: int, sizes: list[int], rng: random.Random, data: st.DataObject
) -> None:
    allocations = generate_allocation_sequence(count, sizes, rng=rng)
    copied = data.draw(st.sampled_from(allocations))
    problems = verify_sequence([*allocations, copied])
    assert f"Sequence number {copied.sequence} appears 2 times." in problems


@given(count=counts, sizes=block_size_sets, rng=rngs, data=st.data())
def test_verify_catches_a_relabelled_sequence_number(
    count: int, sizes: list[int], rng: random.Random, data: st.DataObject
) -> None:
    """An envelope renumbered onto another's number leaves a duplicate (and usually a gap)."""
    assume(count >= 2)
    allocations = generate_allocation_sequence(count, sizes, rng=rng)
    i, j = data.draw(st.lists(st.integers(0, count - 1), min_size=2, max_size=2, unique=True))
    tampered = list(allocations)
    tampered[i] = dataclasses.replace(tampered[i], sequence=allocations[j].sequence)
    problems = verify_sequence(tampered)
    assert f"Sequence number {allocations[j].sequence} appears 2 times." in problems


def make_block(
    number: int, arms: list[str], size: int | None = None, start: int = 1
) -> list[Allocation]:
    size = len(arms) if size is None else size
    return [
        Allocation(
            sequence=start + i,
            arm=arm,
            block_number=number,
            block_size=size,
            position_in_block=i + 1,
        )
        for i, arm in enumerate(arms)
    ]


def test_verify_empty_sequence() -> None:
    assert verify_sequence([]) == ["The sequence is empty."]


def test_verify_unbalanced_complete_block() -> None:
    problems = verify_sequence(make_block(1, [PVP, PVP, CONSERVATIVE, PVP]))
    assert problems == ["Block 1 has 3 allocations to pvp; a block of 4 may hold at most 2."]


def test_verify_incomplete_block_that_is_not_final() -> None:
    seq = make_block(1, [PVP], size=2) + make_block(2, [PVP, CONSERVATIVE], start=2)
    assert verify_sequence(seq) == [
        "Block 1 holds 1 of 2 allocations; only the final block may be incomplete."
    ]


def test_verify_incomplete_final_block_is_allowed() -> None:
    seq = make_block(1, [PVP, CONSERVATIVE]) + make_block(2, [CONSERVATIVE], size=4, start=3)
    assert verify_sequence(seq) == []


def test_verify_incomplete_final_block_over_half() -> None:
    seq = make_block(1, [PVP, PVP, PVP], size=4)
    assert verify_sequence(seq) == [
        "Block 1 has 3 allocations to pvp; a block of 4 may hold at most 2."
    ]


def test_verify_gap_range_is_described_once() -> None:
    seq = make_block(1, [PVP, CONSERVATIVE]) + make_block(2, [PVP, CONSERVATIVE], start=5)
    assert "Sequence numbers 3 to 4 are missing." in verify_sequence(seq)


def test_verify_block_numbers_must_rise_by_one() -> None:
    seq = make_block(1, [PVP, CONSERVATIVE]) + make_block(3, [PVP, CONSERVATIVE], start=3)
    assert verify_sequence(seq) == ["Block 3 follows block 1; expected block 2."]


def test_verify_split_block() -> None:
    seq = (
        make_block(1, [PVP, CONSERVATIVE], size=4)
        + make_block(2, [PVP, CONSERVATIVE], start=3)
        + [Allocation(5, CONSERVATIVE, 1, 4, 3), Allocation(6, PVP, 1, 4, 4)]
    )
    problems = verify_sequence(seq)
    assert "Block 1 is not one unbroken run of sequence numbers." in problems


def test_verify_mixed_block_sizes() -> None:
    seq = [Allocation(1, PVP, 1, 2, 1), Allocation(2, CONSERVATIVE, 1, 4, 2)]
    assert verify_sequence(seq) == ["Block 1 has members with different block sizes: 2, 4."]


def test_verify_bad_positions() -> None:
    seq = [Allocation(1, PVP, 1, 2, 2), Allocation(2, CONSERVATIVE, 1, 2, 1)]
    assert verify_sequence(seq) == [
        "Block 1 has positions 2, 1; expected 1 to 2 in sequence order."
    ]


def test_verify_overfull_block() -> None:
    seq = make_block(1, [PVP, CONSERVATIVE, PVP], size=2)
    assert "Block 1 holds 3 allocations but its size is 2." in verify_sequence(seq)


def test_verify_odd_block_size() -> None:
    seq = make_block(1, [PVP, CONSERVATIVE, PVP])
    assert verify_sequence(seq) == ["Block 1 has size 3; a block size must be even and 2 or more."]


def test_verify_unknown_arm() -> None:
    seq = make_block(1, [PVP, "placebo"])
    assert "Sequence number 2 has unknown arm 'placebo'." in verify_sequence(seq)


def test_verify_non_positive_sequence_number() -> None:
    seq = make_block(1, [PVP, CONSERVATIVE], start=0)
    assert "Sequence number 0 is not positive." in verify_sequence(seq)
