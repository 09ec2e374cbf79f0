"""Small racks with known answers for the AS/RS tests."""

from __future__ import annotations

from pathlib import Path

from shapely.geometry import box

from fleet_manager.asrs.inventory import AsrsInventory
from fleet_manager.asrs.inventory_store import InventoryStore
from fleet_manager.asrs.policies import ClosestOpenSlot, StoragePolicy
from fleet_manager.asrs.rack import Rack
from fleet_manager.site.model import AsrsAisle, CraneModel


def aisle(bays: int = 3, levels: int = 2, depth: int = 1, sides: int = 1, bay_pitch_m: float = 1.0,
          level_pitch_m: float = 2.0, crane: CraneModel | None = None) -> AsrsAisle:
    return AsrsAisle("A1", "C1", bays, levels, depth, sides, bay_pitch_m, level_pitch_m, 5, "cv-1",
                     crane or CraneModel(), box(0, 0, bays * bay_pitch_m, levels * level_pitch_m))


def inventory(tmp_path: Path, rack: Rack, policy: StoragePolicy | None = None,
              name: str = "asrs.db") -> AsrsInventory:
    return AsrsInventory(rack, InventoryStore(tmp_path / name), policy or ClosestOpenSlot())


def put(inv: AsrsInventory, tote: str, sku: str, slot: str | None = None, received_s: float = 0.0,
        lot: str = "L1") -> str:
    """Receive a tote at the I/O point and store it (crane move applied at once); its slot id."""
    inv.receive(tote, sku, 10, lot, received_s)
    move = inv.plan_store(tote, slot)
    inv.store.start_move(move.move_id, "C1")
    inv.complete(move.move_id)
    return move.target
