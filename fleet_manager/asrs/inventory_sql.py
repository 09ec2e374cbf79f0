"""SQL helpers of the AS/RS inventory store; every function runs inside the caller's transaction."""

from __future__ import annotations

import sqlite3

from fleet_manager.asrs.records import (
    InventoryError,
    MoveKind,
    MoveRecord,
    MoveState,
    SlotConflict,
    SlotRecord,
    ToteNotFound,
    ToteRecord,
)


def next_counter(db: sqlite3.Connection, key: str) -> int:
    db.execute("INSERT OR IGNORE INTO asrs_meta VALUES (?, '0')", (key,))
    db.execute("UPDATE asrs_meta SET value = CAST(value AS INTEGER) + 1 WHERE key=?", (key,))
    return int(db.execute("SELECT value FROM asrs_meta WHERE key=?", (key,)).fetchone()[0])


def move_from_row(row: tuple) -> MoveRecord:
    mid, kind, tote, src, tgt, state, ref, crane, created, detail = row
    return MoveRecord(mid, MoveKind(kind), tote, src, tgt, MoveState(state), ref, crane, created, detail)


def is_slot(db: sqlite3.Connection, location: str) -> bool:
    return db.execute("SELECT 1 FROM asrs_slots WHERE slot_id=?", (location,)).fetchone() is not None


def slot_row(db: sqlite3.Connection, slot_id: str) -> SlotRecord:
    row = db.execute("SELECT * FROM asrs_slots WHERE slot_id=?", (slot_id,)).fetchone()
    if row is None:
        raise SlotConflict(f"unknown slot {slot_id!r}")
    return SlotRecord(*row)


def tote_row(db: sqlite3.Connection, tote_id: str) -> ToteRecord:
    row = db.execute("SELECT * FROM asrs_totes WHERE tote_id=?", (tote_id,)).fetchone()
    if row is None:
        raise ToteNotFound(f"unknown tote {tote_id!r}")
    return ToteRecord(*row)


def move_row(db: sqlite3.Connection, move_id: str) -> MoveRecord:
    row = db.execute("SELECT * FROM asrs_moves WHERE move_id=?", (move_id,)).fetchone()
    if row is None:
        raise InventoryError(f"unknown move {move_id!r}")
    return move_from_row(row)


def open_move(db: sqlite3.Connection, move_id: str, allowed: tuple[MoveState, ...]) -> MoveRecord:
    m = move_row(db, move_id)
    if m.state not in allowed:
        raise InventoryError(f"move {move_id} (tote {m.tote_id}) is {m.state}, "
                             f"expected {'/'.join(allowed)}")
    return m


def reserve(db: sqlite3.Connection, m: MoveRecord) -> None:
    tote = tote_row(db, m.tote_id)
    if tote.location != m.source:
        raise ToteNotFound(f"tote {m.tote_id} is at {tote.location}, not at {m.source}")
    if tote.reserved_by is not None:
        raise SlotConflict(f"tote {m.tote_id} is already reserved by move {tote.reserved_by}")
    if m.source == m.target:
        raise InventoryError(f"move {m.move_id}: source and target are both {m.source}")
    if is_slot(db, m.source):
        src = slot_row(db, m.source)
        if src.blocked_reason is not None:
            raise SlotConflict(f"slot {m.source} is blocked ({src.blocked_reason}); "
                               f"tote {m.tote_id} cannot leave it")
        _claim(db, m.source, m.move_id)
    if is_slot(db, m.target):
        tgt = slot_row(db, m.target)
        if tgt.blocked_reason is not None:
            raise SlotConflict(f"slot {m.target} is blocked ({tgt.blocked_reason})")
        if tgt.tote_id is not None:
            raise SlotConflict(f"slot {m.target} is occupied by tote {tgt.tote_id}")
        _claim(db, m.target, m.move_id)
    cur = db.execute("UPDATE asrs_totes SET reserved_by=? WHERE tote_id=? AND reserved_by IS NULL",
                     (m.move_id, m.tote_id))
    if cur.rowcount != 1:
        raise SlotConflict(f"tote {m.tote_id} was reserved concurrently")
    try:
        db.execute(
            "INSERT INTO asrs_moves VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (m.move_id, m.kind, m.tote_id, m.source, m.target, MoveState.RESERVED, m.ref,
             m.crane_id, m.created_s, ""),
        )
    except sqlite3.IntegrityError:
        raise InventoryError(f"move id {m.move_id} already used") from None


def _claim(db: sqlite3.Connection, slot_id: str, move_id: str) -> None:
    cur = db.execute("UPDATE asrs_slots SET reserved_by=? WHERE slot_id=? AND reserved_by IS NULL",
                     (move_id, slot_id))
    if cur.rowcount != 1:
        holder = slot_row(db, slot_id).reserved_by
        raise SlotConflict(f"slot {slot_id} is reserved by move {holder}")
