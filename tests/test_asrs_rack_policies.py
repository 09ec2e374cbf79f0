"""Rack geometry, kinematics, storage policies and crane sequencing on small racks."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from test_asrs_helpers import aisle

from fleet_manager.asrs.kinematics import (
    CraneKinematics,
    axis_time_s,
    bozer_white_cycles_s,
    fem_reference_cycles_s,
)
from fleet_manager.asrs.policies import (
    ClassBasedSlot,
    ClosestOpenSlot,
    RackView,
    RandomOpenSlot,
    abc_classes,
    eligible_tiers,
)
from fleet_manager.asrs.rack import Rack, UnknownSlot, parse_slot_id
from fleet_manager.asrs.records import MoveKind, MoveRecord
from fleet_manager.asrs.sequencing import Pairing, pair_stores_retrieves, path_time_s, plan_cycles
from fleet_manager.site.model import CraneModel


def empty_view(rack: Rack) -> RackView:
    n = len(rack)
    return RackView(np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool), [None] * n)


def occupy(view: RackView, rack: Rack, slot: str, sku: str) -> None:
    i = rack.idx(slot)
    view.occupied[i] = True
    view.sku[i] = sku


def test_axis_time_triangle_and_trapezoid() -> None:
    # v = 4 m/s, a = 1 m/s2: ramps cover 16 m; below that the profile is a triangle.
    assert axis_time_s(8.0, 4.0, 1.0) == pytest.approx(2 * math.sqrt(8))
    assert axis_time_s(20.0, 4.0, 1.0) == pytest.approx(20 / 4 + 4 / 1)
    assert axis_time_s(16.0, 4.0, 1.0) == pytest.approx(8.0)  # both formulas meet
    assert axis_time_s(20.0, 4.0, math.inf) == pytest.approx(5.0)
    kin = CraneKinematics(CraneModel(4.0, 1.0, 1.5, 1.0, 4.0))
    # Chebyshev: the slower axis decides. 20 m travel = 9 s; 3 m hoist = 2*sqrt(3) s.
    assert kin.move_time_s(0, 0, 20, 3) == pytest.approx(9.0)
    assert kin.move_time_s(0, 0, 1, 10) == pytest.approx(10 / 1.5 + 1.5)
    assert kin.single_cycle_s(20, 3) == pytest.approx(2 * 9.0 + 8.0)


def test_reference_cycles() -> None:
    # b = 1 (t_h = t_v = 10 s): Bozer-White gives 1.333 T and 1.8 T, plus fork times.
    model = CraneModel(4.0, math.inf, 2.0, math.inf, 3.0)
    single, dual = bozer_white_cycles_s(model, 40.0, 20.0)
    assert single == pytest.approx(10 * 4 / 3 + 6)
    assert dual == pytest.approx(18.0 + 12)
    fem_single, fem_dual = fem_reference_cycles_s(model, 40.0, 20.0)
    # P1 = (8, 13.33): max(2, 6.67); P2 = (26.67, 4): max(6.67, 2); P1->P2 = max(4.67, 4.67)
    assert fem_single == pytest.approx(0.5 * (2 * 20 / 3 + 2 * 20 / 3) + 6)
    assert fem_dual == pytest.approx(20 / 3 + 14 / 3 + 20 / 3 + 12)


def test_rack_ids_positions_and_lanes() -> None:
    rack = Rack(aisle(bays=4, levels=3, depth=2, sides=2, bay_pitch_m=1.5, level_pitch_m=2.0))
    assert len(rack) == 4 * 3 * 2 * 2
    assert rack.ids[0] == "A1-L001-01-1"
    assert rack.position_m("A1-R003-02-2") == pytest.approx((2.5 * 1.5, 1.5 * 2.0))
    assert rack.front_of("A1-R003-02-2") == "A1-R003-02-1"
    assert rack.rear_of("A1-R003-02-1") == "A1-R003-02-2"
    assert rack.front_of("A1-R003-02-1") is None
    addr = parse_slot_id("A1-R003-02-2")
    assert (addr.side, addr.bay, addr.level, addr.depth) == (2, 3, 2, 2)
    assert addr.id == "A1-R003-02-2"
    with pytest.raises(UnknownSlot, match="A1-X9"):
        parse_slot_id("A1-X9")
    with pytest.raises(UnknownSlot, match="A1-L009-01-1"):
        rack.idx("A1-L009-01-1")


def test_closest_open_slot_known_answers() -> None:
    rack = Rack(aisle(bays=3, levels=2, level_pitch_m=2.0))
    view = empty_view(rack)
    policy = ClosestOpenSlot()
    assert rack.ids[policy.choose(rack, view, "X")] == "A1-L001-01-1"
    occupy(view, rack, "A1-L001-01-1", "X")
    # Bay 2 level 1 (x 1.5 m: 2.45 s) beats bay 1 level 2 (y 3 m: 3.46 s).
    assert rack.ids[policy.choose(rack, view, "X")] == "A1-L002-01-1"
    view.blocked[rack.idx("A1-L002-01-1")] = True
    view.reserved[rack.idx("A1-L003-01-1")] = True
    assert rack.ids[policy.choose(rack, view, "X")] == "A1-L001-02-1"
    view.occupied[:] = True
    assert policy.choose(rack, view, "X") is None


def test_random_policy_only_picks_free_slots() -> None:
    rack = Rack(aisle(bays=5, levels=4))
    view = empty_view(rack)
    free = {3, 7, 11}
    for i in range(len(rack)):
        if i not in free:
            view.blocked[i] = True
    picks = {RandomOpenSlot(seed=s).choose(rack, view, "X") for s in range(30)}
    assert picks == free


def test_double_deep_rear_only_behind_same_sku() -> None:
    rack = Rack(aisle(bays=2, levels=1, depth=2))
    view = empty_view(rack)
    policy = ClosestOpenSlot()
    first = rack.ids[policy.choose(rack, view, "X")]
    assert first == "A1-L001-01-2"  # an empty lane fills from the rear
    occupy(view, rack, first, "X")
    assert rack.ids[policy.choose(rack, view, "X")] == "A1-L001-01-1"  # same SKU in front
    assert rack.ids[policy.choose(rack, view, "Y")] == "A1-L002-01-2"  # another SKU: new lane
    occupy(view, rack, "A1-L002-01-2", "X")
    preferred, fallback = eligible_tiers(rack, view, "Y")
    assert not preferred.any()
    assert set(np.flatnonzero(fallback)) == {rack.idx("A1-L001-01-1"), rack.idx("A1-L002-01-1")}
    assert rack.ids[policy.choose(rack, view, "Y")] == "A1-L001-01-1"
    # A rear tote about to leave (reserved) must not get a new tote parked in front of it.
    view.reserved[rack.idx("A1-L001-01-2")] = True
    assert rack.ids[policy.choose(rack, view, "X")] == "A1-L002-01-1"


def test_abc_classes_and_class_zones() -> None:
    turnover = {f"S{i}": float(100 - i) for i in range(10)}
    classes = abc_classes(turnover, (0.2, 0.3, 0.5))
    assert [classes[f"S{i}"] for i in range(10)] == list("AABBBCCCCC")
    rack = Rack(aisle(bays=10, levels=1, level_pitch_m=1.0))
    policy = ClassBasedSlot(classes, {"A": 0.2, "B": 0.3, "C": 0.5}, within="closest")
    zone = policy.zone_of(rack)
    assert list(zone) == [0, 0, 1, 1, 1, 2, 2, 2, 2, 2]  # bays sorted by cycle time
    view = empty_view(rack)
    assert rack.ids[policy.choose(rack, view, "S0")] == "A1-L001-01-1"
    assert rack.ids[policy.choose(rack, view, "S9")] == "A1-L006-01-1"  # nearest C slot
    for b in (1, 2):
        occupy(view, rack, f"A1-L{b:03d}-01-1", "S0")
    assert rack.ids[policy.choose(rack, view, "S1")] == "A1-L003-01-1"  # A full: next farther
    for b in range(3, 11):
        occupy(view, rack, f"A1-L{b:03d}-01-1", "S0")
    view.occupied[rack.idx("A1-L002-01-1")] = False
    assert rack.ids[policy.choose(rack, view, "S9")] == "A1-L002-01-1"  # C full: nearer zones
    randomised = ClassBasedSlot(classes, {"A": 0.2, "B": 0.3, "C": 0.5}, seed=3)
    picks = {randomised.choose(rack, empty_view(rack), "S3") for _ in range(40)}
    assert picks == {2, 3, 4}


def _moves(rack: Rack, stores: list[str], retrieves: list[str]) -> tuple[list, list]:
    s = [MoveRecord(f"S{i}", MoveKind.STORE, f"TS{i}", "io:A1", slot) for i, slot in enumerate(stores)]
    r = [MoveRecord(f"R{i}", MoveKind.RETRIEVE, f"TR{i}", slot, "io:A1")
         for i, slot in enumerate(retrieves)]
    return s, r


def test_dual_command_pairing_is_optimal_and_beats_nearest_neighbour() -> None:
    rack = Rack(aisle(bays=30, levels=10, level_pitch_m=1.0))
    rng = np.random.default_rng(5)
    kin = rack.kinematics
    for _ in range(20):
        picks = rng.choice(len(rack), 10, replace=False)
        s, r = _moves(rack, [rack.ids[i] for i in picks[:5]], [rack.ids[i] for i in picks[5:]])

        def between(pairs: list[tuple[int, int]], s: list = s, r: list = r) -> float:
            return sum(float(kin.move_time_s(*rack.position_m(s[i].target),
                                             *rack.position_m(r[j].source))) for i, j in pairs)

        best = min(between(list(enumerate(p))) for p in itertools.permutations(range(5)))
        opt = between(pair_stores_retrieves(rack, s, r, Pairing.DUAL_OPT))
        nn = between(pair_stores_retrieves(rack, s, r, Pairing.DUAL_NN))
        assert opt == pytest.approx(best)
        assert opt <= nn + 1e-9


def test_cycles_single_vs_dual_times() -> None:
    rack = Rack(aisle(bays=10, levels=5, level_pitch_m=1.0))
    s, r = _moves(rack, ["A1-L008-04-1", "A1-L002-01-1"], ["A1-L009-05-1", "A1-L001-02-1", "A1-L005-03-1"])
    jobs = [(m,) for m in s + r]
    single = plan_cycles(rack, jobs, Pairing.SINGLE)
    dual = plan_cycles(rack, jobs, Pairing.DUAL_OPT)
    assert len(single) == 5 and len(dual) == 3
    assert sum(c.is_dual for c in dual) == 2
    # The far store pairs with the far retrieve, the near with the near.
    pairs = {(c.moves[0].target, c.moves[1].source) for c in dual if c.is_dual}
    assert pairs == {("A1-L008-04-1", "A1-L009-05-1"), ("A1-L002-01-1", "A1-L001-02-1")}
    for c in single:
        slot = c.moves[0].target if c.moves[0].kind == MoveKind.STORE else c.moves[0].source
        assert c.time_s == pytest.approx(float(rack.kinematics.single_cycle_s(*rack.position_m(slot))))
    assert sum(c.time_s for c in dual) < sum(c.time_s for c in single)
    reloc = (MoveRecord("X", MoveKind.RELOCATE, "T9", "A1-L001-01-1", "A1-L003-01-1"), r[0])
    assert path_time_s(rack, reloc) > path_time_s(rack, (r[0],))
    assert len(plan_cycles(rack, [reloc, (s[0],)], Pairing.DUAL_OPT)) == 2  # never paired
