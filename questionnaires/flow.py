"""The patient's path through a visit's questionnaires: one section per screen.

ODI: one section per screen (10); VAS: back, then leg; EQ-5D-3L: the five dimensions, then EQ VAS;
health-service use: all counts on one screen. The same sequence serves the personal link and the
clinic tablet; the progress bar counts screens over the whole visit. Questionnaires already
submitted (taken by phone on the nurse's call, say) are left out: ``skip``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from questionnaires.instruments import Item, get_instrument
from trial.protocol import visits


@dataclass(frozen=True)
class Screen:
    instrument: str
    step: int  # 1-based within the instrument
    items: tuple[Item, ...]
    number: int  # 1-based over the visit


def instrument_screens(instrument_code: str) -> list[tuple[Item, ...]]:
    instrument = get_instrument(instrument_code)
    if instrument_code == "hsu":
        return [instrument.items]
    return [(item,) for item in instrument.items]


def visit_screens(visit_code: str, skip: Collection[str] = ()) -> list[Screen]:
    screens: list[Screen] = []
    for code in visits.visit_instruments(visit_code):
        if code in skip:
            continue
        for step, items in enumerate(instrument_screens(code), start=1):
            screens.append(Screen(code, step, items, len(screens) + 1))
    return screens


def find_screen(
    visit_code: str, instrument_code: str, step: int, skip: Collection[str] = ()
) -> Screen | None:
    for screen in visit_screens(visit_code, skip):
        if screen.instrument == instrument_code and screen.step == step:
            return screen
    return None


def resume_screen(visit_code: str, answers: dict[str, dict], skip: Collection[str] = ()) -> Screen:
    """Where a returning patient continues: after the last screen with an answer."""
    screens = visit_screens(visit_code, skip)
    last = -1
    for index, screen in enumerate(screens):
        given = answers.get(screen.instrument, {})
        if any(given.get(item.code) is not None for item in screen.items):
            last = index
    return screens[min(last + 1, len(screens) - 1)]
