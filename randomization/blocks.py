"""Permuted-block allocation sequences for sealed-envelope randomisation.

The protocol allocates 1:1 to PVP or conservative care by sealed envelope, and
DOMAIN.md asks for permuted blocks whose size varies at random (default 2 and
4), drawn from a cryptographically secure generator. Varying the block size
keeps a clinician who has opened a few envelopes from predicting the next one;
the secure generator keeps anyone who knows the software from reproducing the
list.

This module is the framework-free core: it only generates and checks
sequences. Storing envelopes, serial numbers and concealment live elsewhere.
It uses the standard library only so that it can be tested (and audited) in
isolation, without Django.
"""

from __future__ import annotations

import random
import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "ARMS",
    "CONSERVATIVE",
    "DEFAULT_BLOCK_SIZES",
    "PVP",
    "Allocation",
    "generate_allocation_sequence",
    "max_running_imbalance",
    "permuted_blocks",
    "validate_block_sizes",
    "verify_sequence",
]

#: Percutaneous vertebroplasty plus usual care.
PVP = "pvp"
#: Usual care only (may cross over to PVP after 4 weeks; that is recorded elsewhere).
CONSERVATIVE = "conservative"
#: The two arms, in a fixed order so that every block is built the same way
#: before it is shuffled.
ARMS: tuple[str, str] = (PVP, CONSERVATIVE)

#: DOMAIN.md default; the coordinator may choose others per batch.
DEFAULT_BLOCK_SIZES: tuple[int, ...] = (2, 4)


@dataclass(frozen=True, slots=True)
class Allocation:
    """One envelope's allocation and where it sits in the block structure.

    Block membership is kept (not just the arm) so that the verification report
    can later prove, from stored data alone, that every complete block is
    balanced and only the last block of a batch was cut short.
    """

    #: 1-based position in the batch; becomes the envelope serial.
    sequence: int
    arm: str
    #: 1-based number of the block within the batch.
    block_number: int
    #: The size the block was drawn with. For a truncated final block this is
    #: larger than the number of allocations it holds, which is how an
    #: incomplete block is recognised.
    block_size: int
    #: 1-based position within the block.
    position_in_block: int


def _is_int(value: object) -> bool:
    # bool is a subclass of int, but True as a block size or count is a bug.
    return isinstance(value, int) and not isinstance(value, bool)


def validate_block_sizes(block_sizes: Sequence[int]) -> tuple[int, ...]:
    """Return ``block_sizes`` as a tuple, or raise ``ValueError`` saying what is wrong.

    Every size must be a positive even integer, since a 1:1 block needs exactly
    half of each arm. Sizes must be distinct: a repeated size would silently
    make it more likely to be drawn, which nobody would notice on a settings
    page.
    """
    if isinstance(block_sizes, (str, bytes)):
        raise ValueError("Block sizes must be a sequence of integers, not a string.")
    sizes = tuple(block_sizes)
    if not sizes:
        raise ValueError("At least one block size is required.")
    for size in sizes:
        if not _is_int(size):
            raise ValueError(f"Block size {size!r} is not a whole number.")
        if size <= 0:
            raise ValueError(f"Block size {size} must be positive.")
        if size % 2:
            raise ValueError(
                f"Block size {size} is odd; a 1:1 block needs an even size "
                "so that it holds exactly half of each arm."
            )
    duplicates = sorted(size for size, n in Counter(sizes).items() if n > 1)
    if duplicates:
        listed = ", ".join(str(size) for size in duplicates)
        raise ValueError(f"Block sizes must be distinct; repeated: {listed}.")
    return sizes


def generate_allocation_sequence(
    count: int,
    block_sizes: Sequence[int] = DEFAULT_BLOCK_SIZES,
    *,
    rng: random.Random | None = None,
) -> list[Allocation]:
    """Return exactly ``count`` allocations in 1:1 permuted blocks.

    Each block's size is drawn at random from ``block_sizes``, and each block is
    a random permutation holding exactly half of each arm. Whole blocks are
    generated until there are at least ``count`` allocations, then the list is
    cut to ``count``: the final block may therefore be incomplete. Its imbalance
    is bounded by half its size, and the running imbalance of the whole list
    never exceeds half the largest block size. Cutting is preferred to choosing
    a final block size that "fits", because a fitted size would be predictable
    from the envelope count.

    ``rng`` defaults to a fresh :class:`secrets.SystemRandom` (operating-system
    entropy, not reproducible) as DOMAIN.md requires; tests pass a seeded
    :class:`random.Random` to get repeatable output. It is never seeded here.
    """
    if not _is_int(count):
        raise ValueError(f"The number of allocations must be a whole number, not {count!r}.")
    if count < 1:
        raise ValueError(f"The number of allocations must be at least 1, not {count}.")
    sizes = validate_block_sizes(block_sizes)
    if rng is None:
        # Looked up on the module at call time (not imported by name) so the
        # choice of generator is visible and testable in one place.
        rng = secrets.SystemRandom()

    allocations: list[Allocation] = []
    block_number = 0
    while len(allocations) < count:
        block_number += 1
        size = rng.choice(sizes)
        block = [arm for arm in ARMS for _ in range(size // 2)]
        rng.shuffle(block)
        for position, arm in enumerate(block, start=1):
            allocations.append(
                Allocation(
                    sequence=len(allocations) + 1,
                    arm=arm,
                    block_number=block_number,
                    block_size=size,
                    position_in_block=position,
                )
            )
    return allocations[:count]


def permuted_blocks(
    count: int,
    block_sizes: Sequence[int] = DEFAULT_BLOCK_SIZES,
    *,
    rng: random.Random | None = None,
) -> list[str]:
    """Return only the arms of :func:`generate_allocation_sequence`, in order."""
    return [a.arm for a in generate_allocation_sequence(count, block_sizes, rng=rng)]


def max_running_imbalance(arms: Iterable[str]) -> int:
    """Return the largest absolute difference between the arms over any prefix.

    This is what a clinician could exploit if envelopes were predictable, and
    what the verification report shows per stratum. An empty sequence has
    imbalance 0. Unknown arm codes raise ``ValueError`` rather than being
    ignored, since ignoring them would understate the imbalance.
    """
    difference = 0
    worst = 0
    for index, arm in enumerate(arms, start=1):
        if arm == PVP:
            difference += 1
        elif arm == CONSERVATIVE:
            difference -= 1
        else:
            raise ValueError(f"Item {index} has unknown arm {arm!r}.")
        worst = max(worst, abs(difference))
    return worst


def _ranges(numbers: Iterable[int]) -> list[tuple[int, int]]:
    """Collapse sorted integers into inclusive (first, last) runs."""
    runs: list[tuple[int, int]] = []
    for number in numbers:
        if runs and number == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], number)
        else:
            runs.append((number, number))
    return runs


def _describe_missing(first: int, last: int) -> str:
    if first == last:
        return f"Sequence number {first} is missing."
    return f"Sequence numbers {first} to {last} are missing."


def verify_sequence(allocations: Iterable[Allocation]) -> list[str]:
    """Check a stored allocation sequence and return its problems (empty when sound).

    It checks, in this order:

    * sequence numbers are positive, unique, and contiguous from the lowest one
      (a batch need not start at 1, but it may have no gaps);
    * every arm is a known arm;
    * every block occupies one unbroken run of sequence numbers, block numbers
      rise by one from block to block, and all its members agree on its size;
    * positions within a block are 1, 2, 3 ... in sequence order;
    * no block holds more allocations than its size, nor more than half its
      size of either arm;
    * every block is complete (and so exactly balanced) except possibly the
      last one.

    Problems are plain English sentences so that the verification report can
    show them as they are (and wrap them for translation).
    """
    items = sorted(allocations, key=lambda a: a.sequence)
    if not items:
        return ["The sequence is empty."]

    problems: list[str] = []

    # --- Sequence numbers: positive, unique, contiguous -------------------
    counts = Counter(a.sequence for a in items)
    for number in sorted(counts):
        if number < 1:
            problems.append(f"Sequence number {number} is not positive.")
        if counts[number] > 1:
            problems.append(f"Sequence number {number} appears {counts[number]} times.")
    present = sorted(counts)
    expected = set(range(present[0], present[-1] + 1))
    for first, last in _ranges(sorted(expected - counts.keys())):
        problems.append(_describe_missing(first, last))

    # --- Arms ------------------------------------------------------------
    for a in items:
        if a.arm not in ARMS:
            problems.append(f"Sequence number {a.sequence} has unknown arm {a.arm!r}.")

    # --- Block layout ----------------------------------------------------
    # Walk the sequence and cut it into runs of equal block_number. A block
    # number seen again after another block means the block was split.
    runs: list[list[Allocation]] = []
    for a in items:
        if runs and runs[-1][0].block_number == a.block_number:
            runs[-1].append(a)
        else:
            runs.append([a])

    seen_blocks: set[int] = set()
    previous_number: int | None = None
    for run in runs:
        number = run[0].block_number
        if number in seen_blocks:
            problems.append(f"Block {number} is not one unbroken run of sequence numbers.")
            continue
        seen_blocks.add(number)
        if previous_number is not None and number != previous_number + 1:
            problems.append(
                f"Block {number} follows block {previous_number}; "
                f"expected block {previous_number + 1}."
            )
        previous_number = number

    # Group by block number for the per-block checks, whatever the layout.
    blocks: dict[int, list[Allocation]] = {}
    for a in items:
        blocks.setdefault(a.block_number, []).append(a)
    last_block = runs[-1][0].block_number

    for number in sorted(blocks):
        members = blocks[number]
        sizes = sorted({a.block_size for a in members})
        if len(sizes) > 1:
            listed = ", ".join(str(s) for s in sizes)
            problems.append(f"Block {number} has members with different block sizes: {listed}.")
            # Balance cannot be judged against an ambiguous size.
            continue
        size = sizes[0]
        if size < 2 or size % 2:
            problems.append(
                f"Block {number} has size {size}; a block size must be even and 2 or more."
            )
            continue

        positions = [a.position_in_block for a in members]
        if positions != list(range(1, len(members) + 1)):
            shown = ", ".join(str(p) for p in positions)
            problems.append(
                f"Block {number} has positions {shown}; expected 1 to {len(members)} "
                "in sequence order."
            )

        if len(members) > size:
            problems.append(
                f"Block {number} holds {len(members)} allocations but its size is {size}."
            )
            continue

        arm_counts = Counter(a.arm for a in members)
        half = size // 2
        for arm in ARMS:
            if arm_counts[arm] > half:
                problems.append(
                    f"Block {number} has {arm_counts[arm]} allocations to {arm}; "
                    f"a block of {size} may hold at most {half}."
                )
        if len(members) < size and number != last_block:
            problems.append(
                f"Block {number} holds {len(members)} of {size} allocations; "
                "only the final block may be incomplete."
            )

    return problems
