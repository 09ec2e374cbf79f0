"""Rack geometry of one aisle: readable slot ids, metric positions, double-deep lanes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from fleet_manager.asrs.kinematics import CraneKinematics
from fleet_manager.domain import SlotId
from fleet_manager.site.model import AsrsAisle

SIDE_LETTERS = "LR"  # side 1 = left rack face, side 2 = right
_SLOT_RE = re.compile(r"^(?P<aisle>.+)-(?P<side>[LR])(?P<bay>\d{3})-(?P<level>\d{2})-(?P<depth>[12])$")


class SlotState(StrEnum):
    EMPTY = "empty"
    OCCUPIED = "occupied"
    RESERVED = "reserved"  # a crane move into or out of the slot is pending
    BLOCKED = "blocked"  # out of service (damage, inspection): never chosen, never moved into


class UnknownSlot(KeyError):
    """A slot id that does not exist in this rack."""


@dataclass(frozen=True)
class SlotAddress:
    """Aisle, side (1|2), bay (1..), level (1.., bottom first), depth (1 front, 2 rear)."""

    aisle: str
    side: int
    bay: int
    level: int
    depth: int

    @property
    def id(self) -> SlotId:
        return f"{self.aisle}-{SIDE_LETTERS[self.side - 1]}{self.bay:03d}-{self.level:02d}-{self.depth}"


def parse_slot_id(slot_id: str) -> SlotAddress:
    """Inverse of SlotAddress.id; raises UnknownSlot naming the id when it is malformed."""
    m = _SLOT_RE.match(slot_id)
    if not m:
        raise UnknownSlot(f"malformed slot id {slot_id!r} (expected e.g. A1-L012-03-1)")
    return SlotAddress(
        m["aisle"], SIDE_LETTERS.index(m["side"]) + 1, int(m["bay"]), int(m["level"]), int(m["depth"])
    )


class Rack:
    """All slots of one aisle, indexed 0..n-1; the I/O point is at (0, 0) metres.

    Bay b's centre is at x = (b - 0.5) * bay_pitch_m and level l at y = (l - 0.5) * level_pitch_m,
    so the slots fill the continuous rack [0, L] x [0, H] of the Bozer-White model.
    """

    def __init__(self, aisle: AsrsAisle) -> None:
        if aisle.depth not in (1, 2) or aisle.sides not in (1, 2):
            raise ValueError(f"aisle {aisle.id}: depth must be 1|2 and sides 1|2")
        if aisle.bays < 1 or aisle.levels < 1:
            raise ValueError(f"aisle {aisle.id}: needs at least one bay and one level")
        self.aisle = aisle
        self.kinematics = CraneKinematics(aisle.crane)
        self.addresses: list[SlotAddress] = [
            SlotAddress(aisle.id, side, bay, level, depth)
            for side in range(1, aisle.sides + 1)
            for bay in range(1, aisle.bays + 1)
            for level in range(1, aisle.levels + 1)
            for depth in range(1, aisle.depth + 1)
        ]
        self.ids: list[SlotId] = [a.id for a in self.addresses]
        self.index: dict[SlotId, int] = {s: i for i, s in enumerate(self.ids)}
        self.x_m = np.array([(a.bay - 0.5) * aisle.bay_pitch_m for a in self.addresses])
        self.y_m = np.array([(a.level - 0.5) * aisle.level_pitch_m for a in self.addresses])
        self.depth = np.array([a.depth for a in self.addresses], dtype=np.int8)
        # Double-deep lanes: the slot at the other depth of the same side/bay/level, else -1.
        self.partner = np.full(len(self.ids), -1, dtype=np.int64)
        if aisle.depth == 2:
            self.partner[0::2] = np.arange(1, len(self.ids), 2)
            self.partner[1::2] = np.arange(0, len(self.ids), 2)
        self.single_cycle_s = self.kinematics.single_cycle_s(self.x_m, self.y_m)

    def __len__(self) -> int:
        return len(self.ids)

    def idx(self, slot_id: SlotId) -> int:
        try:
            return self.index[slot_id]
        except KeyError:
            raise UnknownSlot(f"aisle {self.aisle.id}: unknown slot {slot_id!r}") from None

    def position_m(self, slot_id: SlotId) -> tuple[float, float]:
        i = self.idx(slot_id)
        return float(self.x_m[i]), float(self.y_m[i])

    def front_of(self, slot_id: SlotId) -> SlotId | None:
        """The slot a rear (depth 2) slot is reached through; None for front slots."""
        i = self.idx(slot_id)
        return self.ids[self.partner[i]] if self.depth[i] == 2 else None

    def rear_of(self, slot_id: SlotId) -> SlotId | None:
        i = self.idx(slot_id)
        return self.ids[self.partner[i]] if self.depth[i] == 1 and self.partner[i] >= 0 else None

    @property
    def io_position_m(self) -> tuple[float, float]:
        return 0.0, 0.0
