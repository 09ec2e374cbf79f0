"""Durable AS/RS inventory on SQLite (WAL): slots, totes and crane moves, one transaction each."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from fleet_manager.asrs.inventory_sql import (
    is_slot,
    move_from_row,
    move_row,
    next_counter,
    open_move,
    reserve,
    slot_row,
    tote_row,
)
from fleet_manager.asrs.records import (
    InventoryError,
    MoveRecord,
    MoveState,
    SlotConflict,
    SlotRecord,
    ToteRecord,
    crane_location,
)

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS asrs_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS asrs_slots (
    slot_id TEXT PRIMARY KEY, aisle TEXT NOT NULL, tote_id TEXT UNIQUE,
    reserved_by TEXT, blocked_reason TEXT);
CREATE TABLE IF NOT EXISTS asrs_totes (
    tote_id TEXT PRIMARY KEY, sku TEXT NOT NULL, quantity INTEGER NOT NULL CHECK (quantity >= 0),
    lot TEXT NOT NULL, received_s REAL NOT NULL, location TEXT NOT NULL, reserved_by TEXT);
CREATE INDEX IF NOT EXISTS asrs_totes_sku ON asrs_totes (sku, received_s, lot);
CREATE TABLE IF NOT EXISTS asrs_moves (
    move_id TEXT PRIMARY KEY, kind TEXT NOT NULL, tote_id TEXT NOT NULL, source TEXT NOT NULL,
    target TEXT NOT NULL, state TEXT NOT NULL, ref TEXT NOT NULL, crane_id TEXT NOT NULL,
    created_s REAL NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS asrs_jobs (ref TEXT PRIMARY KEY, station_id TEXT);
"""
_OPEN_MOVE_STATES = (MoveState.RESERVED, MoveState.ACTIVE, MoveState.FAULTED)


class InventoryStore:
    """Thread-safe; every public mutation is one IMMEDIATE transaction, all or nothing.

    Conditional updates (`... WHERE reserved_by IS NULL`) make reservations safe even when
    another process shares the file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        # Slots this connection changed, with a counter, so readers can refresh only those rows;
        # PRAGMA data_version tells them when another connection changed anything.
        self._change_counter = 0
        self._slot_changed_at: dict[str, int] = {}
        try:
            self._db = sqlite3.connect(
                str(self.path), isolation_level=None, check_same_thread=False, timeout=30.0
            )
            self._db.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error as exc:
            raise InventoryError(f"cannot open AS/RS inventory database {self.path}: {exc}") from None
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across app crashes
        with self._tx() as db:
            # executescript() would COMMIT mid-transaction, so run the statements one by one.
            for stmt in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
                db.execute(stmt)
            db.execute(
                "INSERT OR IGNORE INTO asrs_meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _touch(self, *slot_ids: str) -> None:
        self._change_counter += 1
        for s in slot_ids:
            self._slot_changed_at[s] = self._change_counter

    def changes_since(self, counter: int) -> tuple[int, int, list[str]]:
        """(data_version, counter now, slots this connection changed after `counter`)."""
        with self._lock:
            version = self._db.execute("PRAGMA data_version").fetchone()[0]
            changed = [s for s, c in self._slot_changed_at.items() if c > counter]
            return version, self._change_counter, changed

    def slot_rows(self, slot_ids: list[str]) -> list[tuple]:
        """Same columns as slot_skus, for the given slots only."""
        with self._lock:
            out: list[tuple] = []
            for k in range(0, len(slot_ids), 500):
                chunk = slot_ids[k:k + 500]
                out += self._db.execute(
                    "SELECT s.slot_id, s.tote_id, s.reserved_by, s.blocked_reason, t.sku "
                    "FROM asrs_slots s LEFT JOIN asrs_totes t ON t.tote_id = s.tote_id "
                    f"WHERE s.slot_id IN ({','.join('?' * len(chunk))})", chunk).fetchall()
            return out

    # ---- reads -------------------------------------------------------------------------------
    def slot(self, slot_id: str) -> SlotRecord:
        with self._lock:
            return slot_row(self._db, slot_id)

    def slots(self, aisle: str) -> list[SlotRecord]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM asrs_slots WHERE aisle=?", (aisle,)).fetchall()
        return [SlotRecord(*r) for r in rows]

    def slot_skus(self, aisle: str) -> list[tuple[str, str | None, str | None, str | None, str | None]]:
        """(slot_id, tote_id, reserved_by, blocked_reason, sku) for every slot: one policy snapshot."""
        with self._lock:
            return self._db.execute(
                "SELECT s.slot_id, s.tote_id, s.reserved_by, s.blocked_reason, t.sku "
                "FROM asrs_slots s LEFT JOIN asrs_totes t ON t.tote_id = s.tote_id WHERE s.aisle=?",
                (aisle,),
            ).fetchall()

    def tote(self, tote_id: str) -> ToteRecord:
        with self._lock:
            return tote_row(self._db, tote_id)

    def fifo_totes(self, sku: str, slot_ids: Iterable[str] | None = None) -> list[ToteRecord]:
        """Unreserved totes of `sku` standing in unblocked slots, oldest first (received, lot, id)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT t.* FROM asrs_totes t JOIN asrs_slots s ON s.tote_id = t.tote_id "
                "WHERE t.sku=? AND t.quantity > 0 AND t.reserved_by IS NULL "
                "AND s.reserved_by IS NULL AND s.blocked_reason IS NULL "
                "ORDER BY t.received_s, t.lot, t.tote_id",
                (sku,),
            ).fetchall()
        totes = [ToteRecord(*r) for r in rows]
        if slot_ids is not None:
            allowed = set(slot_ids)
            totes = [t for t in totes if t.location in allowed]
        return totes

    def move(self, move_id: str) -> MoveRecord:
        with self._lock:
            return move_row(self._db, move_id)

    def open_moves(self) -> list[MoveRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM asrs_moves WHERE state IN (?, ?, ?) ORDER BY created_s, move_id",
                tuple(str(s) for s in _OPEN_MOVE_STATES),
            ).fetchall()
        return [move_from_row(r) for r in rows]

    def job_station(self, ref: str) -> str | None:
        """The station a request (a moves' ref) was planned to deliver to, if any."""
        with self._lock:
            row = self._db.execute("SELECT station_id FROM asrs_jobs WHERE ref=?", (ref,)).fetchone()
        return None if row is None else row[0]

    def totes_of(self, sku: str) -> list[ToteRecord]:
        """Every tote of `sku` wherever it is (slot, I/O point, crane, conveyor, station)."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM asrs_totes WHERE sku=? ORDER BY tote_id",
                                    (sku,)).fetchall()
        return [ToteRecord(*r) for r in rows]

    def meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM asrs_meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # ---- mutations -----------------------------------------------------------------------------
    def seed_totes(self, marker: str, totes: list[ToteRecord]) -> bool:
        """Put initial totes straight into their slots, once: False (nothing done) when
        `marker` is already recorded, so a restart never seeds twice."""
        with self._tx() as db:
            if db.execute("SELECT 1 FROM asrs_meta WHERE key=?", (marker,)).fetchone():
                return False
            for t in totes:
                slot = slot_row(db, t.location)
                if slot.tote_id is not None or slot.reserved_by is not None:
                    raise SlotConflict(f"seed tote {t.tote_id}: slot {t.location} is not empty")
                db.execute("INSERT INTO asrs_totes VALUES (?, ?, ?, ?, ?, ?, NULL)",
                           (t.tote_id, t.sku, t.quantity, t.lot, t.received_s, t.location))
                db.execute("UPDATE asrs_slots SET tote_id=? WHERE slot_id=?", (t.tote_id, t.location))
            db.execute("INSERT INTO asrs_meta VALUES (?, ?)", (marker, str(len(totes))))
            self._touch(*(t.location for t in totes))
        return True

    def remove_tote_at(self, tote_id: str, location: str) -> None:
        """Forget an unreserved tote that is at `location` (undo of a refused arrival)."""
        with self._tx() as db:
            db.execute("DELETE FROM asrs_totes WHERE tote_id=? AND location=? AND reserved_by IS NULL",
                       (tote_id, location))

    def ensure_slots(self, aisle: str, slot_ids: Iterable[str]) -> None:
        slot_ids = list(slot_ids)
        with self._tx() as db:
            db.executemany(
                "INSERT OR IGNORE INTO asrs_slots (slot_id, aisle) VALUES (?, ?)",
                [(s, aisle) for s in slot_ids],
            )
            self._touch(*slot_ids)

    def add_tote(self, tote: ToteRecord) -> None:
        """Register a tote arriving at a location outside the rack (e.g. io:<aisle>)."""
        with self._tx() as db:
            if db.execute("SELECT 1 FROM asrs_slots WHERE slot_id=?", (tote.location,)).fetchone():
                raise InventoryError(f"tote {tote.tote_id}: new totes enter at the I/O point, "
                                     f"not directly into slot {tote.location}")
            try:
                db.execute(
                    "INSERT INTO asrs_totes VALUES (?, ?, ?, ?, ?, ?, NULL)",
                    (tote.tote_id, tote.sku, tote.quantity, tote.lot, tote.received_s, tote.location),
                )
            except sqlite3.IntegrityError as exc:
                raise InventoryError(f"tote {tote.tote_id}: already known or invalid ({exc})") from None

    def set_tote_location(self, tote_id: str, location: str) -> None:
        """Hand a tote off outside the rack (I/O point -> conveyor); refused for slots or mid-move."""
        with self._tx() as db:
            tote = tote_row(db, tote_id)
            if tote.reserved_by is not None:
                raise InventoryError(f"tote {tote_id}: reserved by move {tote.reserved_by}")
            if is_slot(db, tote.location) or is_slot(db, location):
                raise InventoryError(f"tote {tote_id}: slot changes go through a crane move")
            db.execute("UPDATE asrs_totes SET location=? WHERE tote_id=?", (location, tote_id))

    def block_slot(self, slot_id: str, reason: str) -> None:
        with self._tx() as db:
            rec = slot_row(db, slot_id)
            if rec.reserved_by is not None:
                raise SlotConflict(f"slot {slot_id}: reserved by move {rec.reserved_by}, "
                                   "finish or cancel it before blocking")
            db.execute("UPDATE asrs_slots SET blocked_reason=? WHERE slot_id=?", (reason, slot_id))
            self._touch(slot_id)

    def unblock_slot(self, slot_id: str) -> None:
        with self._tx() as db:
            slot_row(db, slot_id)
            db.execute("UPDATE asrs_slots SET blocked_reason=NULL WHERE slot_id=?", (slot_id,))
            self._touch(slot_id)

    def reserve_moves(self, moves: list[MoveRecord], station_id: str | None = None) -> list[MoveRecord]:
        """Reserve every move's tote, source and target; all of them or none. Moves without an
        id get one from a counter in the file, so ids stay unique across restarts and processes.
        `station_id` (where a retrieve is headed) is kept by the moves' ref for a restart."""
        with self._tx() as db:
            out = []
            for m in moves:
                if not m.move_id:
                    m = replace(m, move_id=f"MV-{next_counter(db, 'move_counter'):06d}")
                reserve(db, m)
                out.append(m)
            if station_id is not None and moves and moves[-1].ref:
                db.execute("INSERT OR REPLACE INTO asrs_jobs VALUES (?, ?)", (moves[-1].ref, station_id))
            self._touch(*(loc for m in moves for loc in (m.source, m.target)))
        return out

    def start_move(self, move_id: str, crane_id: str, resume_from_forks: bool = False) -> MoveRecord:
        """Mark a move sent to the crane; a faulted one may restart (from its source, or with
        resume_from_forks when its tote is on that crane's forks)."""
        with self._tx() as db:
            m = open_move(db, move_id, (MoveState.RESERVED, MoveState.FAULTED))
            on_forks = tote_row(db, m.tote_id).location == crane_location(m.crane_id)
            if on_forks != resume_from_forks:
                where = "is on the forks: resume from the forks" if on_forks else "is not on the forks"
                raise InventoryError(f"move {move_id}: tote {m.tote_id} {where}")
            db.execute("UPDATE asrs_moves SET state=?, crane_id=?, detail='' WHERE move_id=?",
                       (MoveState.ACTIVE, crane_id, move_id))
        return self.move(move_id)

    def complete_move(self, move_id: str) -> MoveRecord:
        """The crane put the tote down at the target: source freed, target filled, one transaction."""
        with self._tx() as db:
            m = open_move(db, move_id, (MoveState.ACTIVE, MoveState.FAULTED))
            tote = tote_row(db, m.tote_id)
            if tote.location not in (m.source, crane_location(m.crane_id)):
                raise InventoryError(f"move {move_id}: tote {m.tote_id} is at {tote.location}, "
                                     f"not at {m.source} or on crane {m.crane_id}")
            db.execute("UPDATE asrs_slots SET tote_id=NULL, reserved_by=NULL WHERE tote_id=?",
                       (m.tote_id,))
            db.execute("UPDATE asrs_slots SET tote_id=?, reserved_by=NULL WHERE slot_id=?",
                       (m.tote_id, m.target))
            db.execute("UPDATE asrs_totes SET location=?, reserved_by=NULL WHERE tote_id=?",
                       (m.target, m.tote_id))
            db.execute("UPDATE asrs_moves SET state=? WHERE move_id=?", (MoveState.DONE, move_id))
            self._touch(m.source, m.target)
        return self.move(move_id)

    def fault_move(self, move_id: str, load_on_forks: bool, detail: str) -> MoveRecord:
        """Record a crane fault: the tote is still at its source, or on the crane; no slot filled."""
        with self._tx() as db:
            m = open_move(db, move_id, (MoveState.ACTIVE,))
            if load_on_forks:
                db.execute("UPDATE asrs_slots SET tote_id=NULL, reserved_by=NULL WHERE tote_id=?",
                           (m.tote_id,))
                db.execute("UPDATE asrs_totes SET location=? WHERE tote_id=?",
                           (crane_location(m.crane_id), m.tote_id))
            db.execute("UPDATE asrs_moves SET state=?, detail=? WHERE move_id=?",
                       (MoveState.FAULTED, detail, move_id))
            self._touch(m.source, m.target)
        return self.move(move_id)

    def cancel_move(self, move_id: str, reason: str) -> MoveRecord:
        """Release a move that never picked its tote up; refused once the tote is on the crane."""
        with self._tx() as db:
            m = open_move(db, move_id, (MoveState.RESERVED, MoveState.FAULTED))
            if tote_row(db, m.tote_id).location != m.source:
                raise InventoryError(f"move {move_id}: tote {m.tote_id} left {m.source}; "
                                     "complete the move instead")
            db.execute("UPDATE asrs_slots SET reserved_by=NULL WHERE reserved_by=?", (move_id,))
            db.execute("UPDATE asrs_totes SET reserved_by=NULL WHERE reserved_by=?", (move_id,))
            db.execute("UPDATE asrs_moves SET state=?, detail=? WHERE move_id=?",
                       (MoveState.CANCELLED, reason, move_id))
            self._touch(m.source, m.target)
        return self.move(move_id)

