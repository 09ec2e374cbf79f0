"""A plant file with a 2.1 fleet and a 3.0 fleet on one broker: `wcs sim-equipment` starts both
kinds of vehicles, `wcs run --plant` drives them, orders complete (slow, real processes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import plant_floor
import pytest
from plant_floor import REPO, PlantFloor, wait_until

from fleet_manager.plant import load_plant

pytestmark = pytest.mark.slow

V3_FLEET = """
  - name: amrs3
    adapter: vda5050
    version: "3.0"
    broker: ${WCS_MQTT_URL:-mqtt://127.0.0.1:1883}
    interface_name: uagv
    manufacturer: wcs-sim3
    serials: {prefix: v3-, count: 2, width: 2}
    accept_any: false
    state_timeout_s: 10.0
"""


def mixed_plant(tmp: Path) -> Path:
    """loopback.yaml with absolute paths, 2 vehicles on 2.1 and a second fleet of 2 on 3.0."""
    text = plant_floor.LOOPBACK.read_text()
    text = text.replace("../../maps/", f"{REPO}/maps/").replace("../plc/", f"{REPO}/config/plc/")
    text = text.replace("\nplcs:", V3_FLEET + "\nplcs:", 1)
    path = tmp / "mixed.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def floor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PlantFloor]:
    monkeypatch.setattr(plant_floor, "LOOPBACK", mixed_plant(tmp_path))
    f = PlantFloor(tmp_path, amr_count=2)
    try:
        f.start_equipment()
        f.start_wcs()
        wait_until(lambda: len(f.get("/api/v1/robots")["items"]) == 4 and all(
            r["connection"] == "ONLINE" and r["x_m"] is not None  # online and localised
            for r in f.get("/api/v1/robots")["items"]), 40,
            "every vehicle of both fleets online")
        yield f
    finally:
        f.stop()


def test_a_mixed_plant_runs_orders_on_both_versions(floor: PlantFloor) -> None:
    plant = load_plant(plant_floor.LOOPBACK, env={"WCS_AMR_COUNT": "2"})
    assert sorted(f.version for f in plant.fleets) == ["2.1", "3.0"]
    site = plant.site
    start = {r["id"]: (r["x_m"], r["y_m"]) for r in floor.get("/api/v1/robots")["items"]}
    assert len(set(start.values())) == 4, start  # the two fleets do not share start nodes
    skus = sorted({s for p in site.pods.values() for s in p.inventory},
                  key=lambda s: (-sum(p.inventory.get(s, 0) for p in site.pods.values()), s))[:4]
    ids = []
    with floor.client("wms") as c:
        for i, sku in enumerate(skus):
            r = c.post("/api/v1/orders", headers={"Idempotency-Key": f"mixed-{i}"},
                       json={"lines": [{"sku": sku, "quantity": 1}], "priority": 1})
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
    wait_until(lambda: all(floor.get(f"/api/v1/orders/{o}", "wms")["state"] == "done" for o in ids),
               240, "four orders done")
    robots = floor.get("/api/v1/robots")["items"]
    assert sorted(r["id"] for r in robots) == ["amr-01", "amr-02", "v3-01", "v3-02"]
    assert all(r["connection"] == "ONLINE" for r in robots)
    moved = {r["id"] for r in robots if (r["x_m"], r["y_m"]) != start[r["id"]]}
    tasks_by = {r["id"] for r in robots if r["task_id"]} | moved
    assert {"v3-01", "v3-02"} & tasks_by and {"amr-01", "amr-02"} & tasks_by, (start, robots)
