"""AS/RS inventory service: store/retrieve planning over the rack, a policy and the durable store."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from fleet_manager.asrs.inventory_store import InventoryStore
from fleet_manager.asrs.policies import RackView, StoragePolicy
from fleet_manager.asrs.rack import Rack
from fleet_manager.asrs.records import (
    InventoryError,
    MoveKind,
    MoveRecord,
    NoFreeSlot,
    NoStock,
    SlotConflict,
    ToteNotFound,
    ToteRecord,
    io_location,
)
from fleet_manager.domain import Sku


class AsrsInventory:
    """Plans crane moves and reserves them atomically; safe to call from many threads.

    Planning (choose a slot or a tote, maybe one relocation) and reserving happen under one lock,
    and the store's conditional updates refuse anything another process reserved meanwhile.
    """

    def __init__(
        self,
        rack: Rack,
        store: InventoryStore,
        policy: StoragePolicy,
        clock: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self.rack = rack
        self.store = store
        self.policy = policy
        self.clock = clock
        self.io = io_location(rack.aisle.id)
        self._lock = threading.Lock()
        store.ensure_slots(rack.aisle.id, rack.ids)
        self._view: RackView | None = None
        self._seen: tuple[int, int] = (-1, -1)  # (data_version, change counter) of self._view

    def view(self) -> RackView:
        """Slot states; re-reads only slots changed since the last call, or all after another
        connection wrote to the file."""
        version, counter, changed = self.store.changes_since(self._seen[1])
        if self._view is None or version != self._seen[0]:
            self._view = RackView.from_rows(self.rack, self.store.slot_skus(self.rack.aisle.id))
        elif changed:
            self._view.update(self.rack, self.store.slot_rows(changed))
        self._seen = (version, counter)
        return self._view

    def _new_move(self, kind: MoveKind, tote_id: str, source: str, target: str, ref: str) -> MoveRecord:
        # The store gives the id when it reserves (unique across restarts and processes).
        return MoveRecord("", kind, tote_id, source, target, ref=ref,
                          crane_id=self.rack.aisle.crane_id, created_s=self.clock())

    def receive(self, tote_id: str, sku: Sku, quantity: int, lot: str, received_s: float) -> ToteRecord:
        """A tote arrives at this aisle's I/O point."""
        tote = ToteRecord(tote_id, sku, quantity, lot, received_s, self.io)
        self.store.add_tote(tote)
        return tote

    def plan_store(self, tote_id: str, slot_id: str | None = None, ref: str = "") -> MoveRecord:
        """Reserve a store move for a tote at the I/O point, into `slot_id` or the policy's choice."""
        with self._lock:
            tote = self.store.tote(tote_id)
            if tote.location != self.io:
                raise ToteNotFound(f"tote {tote_id} is at {tote.location}, not at {self.io}")
            if slot_id is not None:
                self._check_reachable(self.view(), slot_id)
                move = self._new_move(MoveKind.STORE, tote_id, self.io, slot_id, ref)
                return self.store.reserve_moves([move])[0]
            while True:  # another process may take the chosen slot first: choose again
                i = self.policy.choose(self.rack, self.view(), tote.sku)
                if i is None:
                    raise NoFreeSlot(f"aisle {self.rack.aisle.id}: no free slot for tote {tote_id} "
                                     f"(sku {tote.sku}, policy {self.policy.name})")
                move = self._new_move(MoveKind.STORE, tote_id, self.io, self.rack.ids[i], ref)
                try:
                    return self.store.reserve_moves([move])[0]
                except SlotConflict:
                    if self.store.tote(tote_id).reserved_by is not None:
                        raise

    def _check_reachable(self, view: RackView, slot_id: str) -> None:
        """A rear slot is reached through its front slot, which must be empty and not reserved."""
        front = self.rack.front_of(slot_id)  # also raises UnknownSlot naming the id
        if front is not None:
            f = self.rack.idx(front)
            if view.occupied[f] or view.reserved[f]:
                raise SlotConflict(f"slot {slot_id} is behind {front}, which is occupied or reserved")

    def plan_retrieve(self, sku: Sku, ref: str = "", station_id: str | None = None) -> list[MoveRecord]:
        """FIFO: reserve the oldest retrievable tote of `sku`; [relocation?, retrieve]."""
        with self._lock:
            view = self.view()
            reasons: list[str] = []
            for tote in self.store.fifo_totes(sku):
                if tote.location not in self.rack.index:
                    continue  # in another aisle
                try:
                    return self.store.reserve_moves(self._retrieve_moves(view, tote, ref),
                                                    station_id)
                except SlotConflict as exc:  # blocked lane, or lost a race with another process
                    reasons.append(str(exc))
                    view = self.view()
            detail = f" ({'; '.join(reasons[:3])})" if reasons else ""
            raise NoStock(f"aisle {self.rack.aisle.id}: no retrievable tote of sku {sku}{detail}")

    def plan_retrieve_tote(self, tote_id: str, ref: str = "",
                           station_id: str | None = None) -> list[MoveRecord]:
        """Retrieve one named tote; refused with its actual location when it is not in the rack."""
        with self._lock:
            tote = self.store.tote(tote_id)
            if tote.location not in self.rack.index:
                raise ToteNotFound(f"tote {tote_id} is not in aisle {self.rack.aisle.id} "
                                   f"(it is at {tote.location})")
            if tote.reserved_by is not None:
                raise SlotConflict(f"tote {tote_id} in slot {tote.location} is already reserved "
                                   f"by move {tote.reserved_by}")
            return self.store.reserve_moves(self._retrieve_moves(self.view(), tote, ref), station_id)

    def _retrieve_moves(self, view: RackView, tote: ToteRecord, ref: str) -> list[MoveRecord]:
        moves: list[MoveRecord] = []
        front = self.rack.front_of(tote.location)
        if front is not None:
            f = self.rack.idx(front)
            if view.reserved[f]:
                raise SlotConflict(f"tote {tote.tote_id} in {tote.location}: front slot {front} "
                                   "has a pending move")
            if view.occupied[f]:
                # Exactly one relocation: the blocking front tote goes to another lane.
                blocker = self.store.slot(front).tote_id
                assert blocker is not None
                exclude = np.zeros(len(self.rack), bool)
                exclude[[f, self.rack.idx(tote.location)]] = True
                target = self.policy.choose(self.rack, view, view.sku[f] or "", exclude)
                if target is None:
                    raise NoFreeSlot(f"no slot to relocate tote {blocker} out of {front}, which "
                                     f"blocks tote {tote.tote_id} in {tote.location}")
                moves.append(self._new_move(MoveKind.RELOCATE, blocker, front,
                                            self.rack.ids[target], ref))
        moves.append(self._new_move(MoveKind.RETRIEVE, tote.tote_id, tote.location, self.io, ref))
        return moves

    def complete(self, move_id: str) -> MoveRecord:
        return self.store.complete_move(move_id)

    def fault(self, move_id: str, load_on_forks: bool, detail: str) -> MoveRecord:
        return self.store.fault_move(move_id, load_on_forks, detail)

    def cancel(self, move_id: str, reason: str) -> MoveRecord:
        return self.store.cancel_move(move_id, reason)


__all__ = ["AsrsInventory", "InventoryError"]
