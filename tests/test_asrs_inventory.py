"""Durable inventory: restart, FIFO, double-deep relocation, bad input, concurrency, faults."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from test_asrs_helpers import aisle, inventory, put

from fleet_manager.asrs.inventory import AsrsInventory
from fleet_manager.asrs.inventory_store import InventoryStore
from fleet_manager.asrs.policies import ClosestOpenSlot, RandomOpenSlot
from fleet_manager.asrs.rack import Rack, SlotState, UnknownSlot
from fleet_manager.asrs.records import (
    InventoryError,
    MoveKind,
    MoveState,
    NoFreeSlot,
    NoStock,
    SlotConflict,
    ToteNotFound,
)


def dump(path: Path) -> list:
    """Every asrs_ row, to prove a refused request changed nothing."""
    with sqlite3.connect(path) as db:
        return [db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                for t in ("asrs_slots", "asrs_totes", "asrs_moves")]


def test_inventory_survives_restart(tmp_path: Path) -> None:
    rack = Rack(aisle(bays=3, levels=2))
    inv = inventory(tmp_path, rack)
    slot = put(inv, "T1", "SKU-A", received_s=5.0, lot="LOT-7")
    inv.receive("T2", "SKU-B", 3, "LOT-8", 6.0)
    pending = inv.plan_store("T2")
    inv.store.block_slot("A1-L003-02-1", "bent beam")
    inv.store.close()

    again = AsrsInventory(rack, InventoryStore(tmp_path / "asrs.db"), ClosestOpenSlot())
    tote = again.store.tote("T1")
    assert (tote.sku, tote.quantity, tote.lot, tote.received_s, tote.location) == (
        "SKU-A", 10, "LOT-7", 5.0, slot)
    assert again.store.slot(slot).state == SlotState.OCCUPIED
    assert again.store.slot(pending.target).state == SlotState.RESERVED
    assert again.store.slot("A1-L003-02-1").state == SlotState.BLOCKED
    assert [m.move_id for m in again.store.open_moves()] == [pending.move_id]
    again.receive("T3", "SKU-B", 1, "LOT-9", 7.0)
    with pytest.raises(SlotConflict, match=f"slot {pending.target} is reserved by move {pending.move_id}"):
        again.plan_store("T3", pending.target)  # the reservation still holds after the restart
    assert again.plan_store("T3").move_id != pending.move_id  # ids stay unique across restarts
    again.store.start_move(pending.move_id, "C1")
    again.complete(pending.move_id)
    assert again.store.tote("T2").location == pending.target
    with sqlite3.connect(tmp_path / "asrs.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert names and all(n.startswith("asrs_") for n in names)


def test_fifo_picks_the_oldest_lot_and_never_the_same_tote_twice(tmp_path: Path) -> None:
    inv = inventory(tmp_path, Rack(aisle(bays=4, levels=2)))
    for tote, received in (("T-new", 30.0), ("T-old", 10.0), ("T-mid", 20.0)):
        put(inv, tote, "SKU-A", received_s=received, lot=f"LOT-{received:.0f}")
    put(inv, "T-other", "SKU-B", received_s=1.0)
    order = [inv.plan_retrieve("SKU-A", ref=f"O{i}")[-1].tote_id for i in range(3)]
    assert order == ["T-old", "T-mid", "T-new"]
    with pytest.raises(NoStock, match="SKU-A"):
        inv.plan_retrieve("SKU-A")


def test_double_deep_blocking_makes_exactly_one_relocation(tmp_path: Path) -> None:
    rack = Rack(aisle(bays=3, levels=1, depth=2))
    inv = inventory(tmp_path, rack)
    rear = put(inv, "T-X", "SKU-X", received_s=1.0)
    assert rear == "A1-L001-01-2"
    for i in range(2):  # fill the other lanes' rears, so the only front left is lane 1's
        put(inv, f"T-F{i}", f"SKU-F{i}", received_s=2.0)
    front = put(inv, "T-Y", "SKU-Y", received_s=3.0)
    assert front == "A1-L001-01-1"  # fallback: in front of another SKU
    moves = inv.plan_retrieve("SKU-X", ref="ORDER-1")
    assert [m.kind for m in moves] == [MoveKind.RELOCATE, MoveKind.RETRIEVE]
    reloc, retrieve = moves
    assert (reloc.tote_id, reloc.source) == ("T-Y", front)
    assert reloc.target not in (front, rear)
    assert (retrieve.tote_id, retrieve.source) == ("T-X", rear)
    for m in moves:
        inv.store.start_move(m.move_id, "C1")
        inv.complete(m.move_id)
    assert inv.store.tote("T-Y").location == reloc.target
    assert inv.store.tote("T-X").location == "io:A1"
    assert inv.store.slot(front).state == SlotState.EMPTY
    assert inv.store.slot(rear).state == SlotState.EMPTY
    # An unblocked rear tote needs no relocation at all.
    put(inv, "T-Z", "SKU-Z")
    assert [m.kind for m in inv.plan_retrieve("SKU-Z")] == [MoveKind.RETRIEVE]


def test_bad_input_is_refused_by_name_and_changes_nothing(tmp_path: Path) -> None:
    rack = Rack(aisle(bays=3, levels=2, depth=2))
    inv = inventory(tmp_path, rack)
    occupied = put(inv, "T1", "SKU-A")
    inv.store.block_slot("A1-L002-01-2", "sprinkler inspection")
    inv.receive("T2", "SKU-A", 1, "L1", 1.0)
    db = tmp_path / "asrs.db"
    before = dump(db)
    with pytest.raises(SlotConflict, match=f"slot {occupied} is occupied by tote T1"):
        inv.plan_store("T2", occupied)
    with pytest.raises(SlotConflict, match="A1-L002-01-2 is blocked"):
        inv.plan_store("T2", "A1-L002-01-2")
    with pytest.raises(SlotConflict, match="behind A1-L001-01-1"):
        put(inv, "T3", "SKU-A", "A1-L001-01-1")
        inv.plan_store("T2", "A1-L001-01-2")
    before = dump(db)
    with pytest.raises(UnknownSlot, match="A1-L099-01-1"):
        inv.plan_store("T2", "A1-L099-01-1")
    with pytest.raises(ToteNotFound, match="T2 is not in aisle A1 .*io:A1"):
        inv.plan_retrieve_tote("T2")
    with pytest.raises(ToteNotFound, match="unknown tote 'T-nope'"):
        inv.plan_retrieve_tote("T-nope")
    with pytest.raises(ToteNotFound, match="T1 is at A1-L001"):
        inv.plan_store("T1")
    with pytest.raises(InventoryError, match="already known"):
        inv.receive("T1", "SKU-A", 1, "L1", 0.0)
    with pytest.raises(NoStock, match="SKU-unknown"):
        inv.plan_retrieve("SKU-unknown")
    assert dump(db) == before


def test_slots_never_double_booked_under_threads(tmp_path: Path) -> None:
    rack = Rack(aisle(bays=4, levels=3))  # 12 slots
    inv = inventory(tmp_path, rack, RandomOpenSlot(seed=1))
    # Two services on two connections share the file, as two processes would.
    other = AsrsInventory(rack, InventoryStore(tmp_path / "asrs.db"), RandomOpenSlot(seed=2))
    for i in range(8):
        put(inv, f"T{i}", "SKU-A", received_s=float(i))
    for i in range(20):
        inv.receive(f"IN{i}", "SKU-B", 1, "L", 100.0)
    results: dict[str, list] = {"retrieve": [], "store": [], "errors": []}
    barrier = threading.Barrier(36)

    def retrieve(svc: AsrsInventory, k: int) -> None:
        barrier.wait()
        try:
            results["retrieve"].append(svc.plan_retrieve("SKU-A", ref=f"O{k}")[-1].tote_id)
        except NoStock:
            results["errors"].append("nostock")

    def store(svc: AsrsInventory, k: int) -> None:
        barrier.wait()
        try:
            results["store"].append(svc.plan_store(f"IN{k}").target)
        except NoFreeSlot:
            results["errors"].append("nofree")

    threads = [threading.Thread(target=retrieve, args=(inv if k % 2 else other, k)) for k in range(16)]
    threads += [threading.Thread(target=store, args=(inv if k % 2 else other, k)) for k in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results["retrieve"]) == sorted(f"T{i}" for i in range(8))  # each tote once
    assert len(results["store"]) == 4 == len(set(results["store"]))  # 4 free slots, once each
    assert results["errors"].count("nostock") == 8 and results["errors"].count("nofree") == 16


def test_crane_fault_mid_move_applies_nothing_half(tmp_path: Path) -> None:
    inv = inventory(tmp_path, Rack(aisle(bays=3, levels=2)))
    src = put(inv, "T1", "SKU-A")
    (move,) = inv.plan_retrieve("SKU-A")
    inv.store.start_move(move.move_id, "C1")
    # Fault before the pick-up: the tote never left its slot.
    rec = inv.fault(move.move_id, load_on_forks=False, detail="travel drive fault")
    assert rec.state == MoveState.FAULTED
    assert inv.store.tote("T1").location == src
    assert inv.store.slot(src).tote_id == "T1"
    cancelled = inv.cancel(move.move_id, "operator")
    assert cancelled.state == MoveState.CANCELLED
    assert inv.store.slot(src).state == SlotState.OCCUPIED
    # Fault with the tote on the forks (relocation to another slot): on the crane, no slot filled.
    inv.receive("T0", "SKU-A", 1, "L", 0.0)
    store_move = inv.plan_store("T0")
    inv.store.start_move(store_move.move_id, "C1")
    inv.fault(store_move.move_id, load_on_forks=True, detail="hoist drive fault")
    assert inv.store.tote("T0").location == "crane:C1"
    assert inv.store.slot(store_move.target).tote_id is None
    assert inv.store.slot(store_move.target).state == SlotState.RESERVED
    with pytest.raises(InventoryError, match="T0 left io:A1"):
        inv.cancel(store_move.move_id, "operator")
    with pytest.raises(InventoryError, match="on the forks"):
        inv.store.start_move(store_move.move_id, "C1")
    inv.store.start_move(store_move.move_id, "C1", resume_from_forks=True)
    inv.complete(store_move.move_id)
    assert inv.store.tote("T0").location == store_move.target
    assert inv.store.slot(store_move.target).state == SlotState.OCCUPIED


def test_unopenable_database_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="no-such-dir"):
        InventoryStore(tmp_path / "no-such-dir" / "asrs.db")
