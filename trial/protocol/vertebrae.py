"""The vertebral levels PVP can treat in this trial: T1-T12 and L1-L5, top to bottom."""

from __future__ import annotations

LEVELS: tuple[str, ...] = tuple(f"T{i}" for i in range(1, 13)) + tuple(f"L{i}" for i in range(1, 6))
LEVEL_INDEX = {code: i for i, code in enumerate(LEVELS)}
LEVEL_CHOICES = [(code, code) for code in LEVELS]


def normalise_levels(levels) -> list[str]:
    """Unique, known levels in anatomical order; ValueError names anything unknown."""
    cleaned = []
    for level in levels or []:
        code = str(level).strip().upper()
        if code not in LEVEL_INDEX:
            raise ValueError(f"Unknown vertebral level: {level!r} (use T1-T12, L1-L5).")
        if code not in cleaned:
            cleaned.append(code)
    return sorted(cleaned, key=LEVEL_INDEX.__getitem__)


def adjacent(a: str, b: str) -> bool:
    return abs(LEVEL_INDEX[a] - LEVEL_INDEX[b]) == 1
