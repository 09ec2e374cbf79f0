"""LIF import/export: a hand-written LIF file, export -> import round trips, bad input, the CLI."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fleet_manager.site import load_site
from fleet_manager.site.lif import LifError, export_lif, import_lif, import_lif_site, parse_lif
from fleet_manager.site.model import Site

REPO = Path(__file__).resolve().parents[1]
HANDWRITTEN = REPO / "tests/data/lif/handwritten.json"

# Where each hand-written node must land: LIF x grows east, y north; site rows grow south and
# the grid is shifted so its first row and column are 1 (a wall border around it).
HAND_CELLS = {
    "PRK": (1, 1),
    **{f"T{i}": (1 + i, 2) for i in range(5)},
    **{f"M{i}": (1 + i, 3) for i in range(5)},
    **{f"B{i}": (1 + i, 4) for i in range(5)},
    "PS1": (1, 5),
    "PS2": (3, 5),
    "CHG": (5, 5),
}


def _handwritten() -> dict[str, Any]:
    return json.loads(HANDWRITTEN.read_text())


def _write_and_load(tmp_path: Path, yaml_text: str, name: str = "imported.yaml") -> Site:
    path = tmp_path / name
    path.write_text(yaml_text)
    return load_site(path)


def _edges(site: Site) -> set[tuple[tuple[int, int], tuple[int, int]]]:
    return {(site.coord(a), site.coord(b)) for a, b in site.graph.edges}


def _features(site: Site) -> dict[str, Any]:
    """Everything the round trip must keep, by cell coordinates."""
    return {
        "cells": {site.coord(n) for n in range(site.num_nodes)},
        "edges": _edges(site),
        "stations": {
            s.id: (site.coord(s.node), tuple(site.coord(q) for q in s.queue))
            for s in site.stations.values()
        },
        "chargers": {c.id: site.coord(c.node) for c in site.chargers.values()},
        "parking": {p.id: site.coord(p.node) for p in site.parking.values()},
        "slots": {site.coord(s.node) for s in site.slots.values()},
        "kinds": {site.coord(n): site.graph.nodes[n]["kind"] for n in range(site.num_nodes)},
    }


# --- the hand-written file -------------------------------------------------------------------


def test_handwritten_lif_imports_to_a_valid_site(tmp_path: Path) -> None:
    data = _handwritten()
    yaml_text, notes = import_lif(data)
    site = _write_and_load(tmp_path, yaml_text)  # load_site validates fully or raises

    assert site.cell_size_m == pytest.approx(1.0)
    assert {site.coord(n) for n in range(site.num_nodes)} == set(HAND_CELLS.values())
    lif_edges = {
        (HAND_CELLS[e["startNodeId"]], HAND_CELLS[e["endNodeId"]])
        for e in data["layouts"][0]["edges"]
    }
    assert len(lif_edges) == 51
    assert _edges(site) == lif_edges
    # The one one-way edge: T3 -> T4 only.
    assert (HAND_CELLS["T3"], HAND_CELLS["T4"]) in _edges(site)
    assert (HAND_CELLS["T4"], HAND_CELLS["T3"]) not in _edges(site)

    stations = {s.id: (site.coord(s.node), s.queue) for s in site.stations.values()}
    assert stations == {"PICK-1": (HAND_CELLS["PS1"], ()), "PICK-2": (HAND_CELLS["PS2"], ())}
    assert {c.id: site.coord(c.node) for c in site.chargers.values()} == {
        "CHARGE-1": HAND_CELLS["CHG"]
    }
    assert {p.id: site.coord(p.node) for p in site.parking.values()} == {
        "PARK-1": HAND_CELLS["PRK"]
    }
    assert {site.coord(s.node) for s in site.slots.values()} == {HAND_CELLS["M1"], HAND_CELLS["M3"]}
    assert site.robot_model.speed_mps == pytest.approx(1.2)
    # Defaults for what LIF cannot say are named in the notes.
    assert any(n.startswith("pods/skus:") for n in notes)
    assert any("maxSpeed varies (0.3..1.2 m/s)" in n for n in notes)
    assert [r.id for r in site.robots] == ["AMR-01"]
    assert site.coord(site.robots[0].start) == HAND_CELLS["PRK"]


def test_handwritten_file_is_not_in_the_exporter_conventions() -> None:
    """The file must exercise the general import path, not the exporter's own frame and tags."""
    data = _handwritten()
    lay = data["layouts"][0]
    assert not any(s.get("stationDescription", "").startswith("wcs:") for s in lay["stations"])
    assert parse_lif(data).layouts[0].nodes[0].y_m > 0  # our exporter writes y <= 0
    result = import_lif_site(data)
    assert "vehicle type 'ACME.Mover1'" in result.yaml_text.splitlines()[0]


# --- export -> import round trips --------------------------------------------------------------


@pytest.mark.parametrize("map_path", ["maps/demo.yaml", "maps/tiny.yaml"])
def test_export_import_round_trip(tmp_path: Path, map_path: str) -> None:
    original = load_site(REPO / map_path)
    lif = json.loads(json.dumps(export_lif(original)))  # through real JSON text
    yaml_text, notes = import_lif(lif)
    back = _write_and_load(tmp_path, yaml_text)

    a, b = _features(original), _features(back)
    for key in ("cells", "edges", "stations", "chargers", "parking", "slots"):
        assert a[key] == b[key], key
    # AS/RS I/O and conveyor handoff cells come back as plain floor; every other kind survives.
    lost_kinds = {"io", "dock"}
    assert {c: k for c, k in a["kinds"].items() if k not in lost_kinds} == {
        c: k for c, k in b["kinds"].items() if c in a["kinds"] and a["kinds"][c] not in lost_kinds
    }
    assert back.robot_model.speed_mps == original.robot_model.speed_mps
    assert not any("moves the grid" in n for n in notes), notes
    assert any("AS/RS I/O point" in n for n in notes)


def test_export_geometry_and_one_way_lanes() -> None:
    site = load_site(REPO / "maps/tiny.yaml")
    lif = export_lif(site)
    assert lif["metaInformation"]["lifVersion"] == "1.0.0"
    (lay,) = lif["layouts"]
    nodes = {n["nodeId"]: n for n in lay["nodes"]}
    assert len(nodes) == site.num_nodes
    # Charger CH1 sits on cell (8, 1) of 1.0 m: centre (8.5, 1.5) in the map, y flipped to -1.5.
    assert nodes["N8_1"]["nodePosition"] == {"x": 8.5, "y": -1.5}
    actions = [a["actionType"] for a in nodes["N8_1"]["vehicleTypeNodeProperties"][0]["actions"]]
    assert actions == ["startCharging", "stopCharging"]
    edges = {(e["startNodeId"], e["endNodeId"]) for e in lay["edges"]}
    assert len(edges) == site.graph.number_of_edges()
    # Row 5 of tiny.yaml is the one-way lane '>>>>>>>>>': eastward only.
    assert ("N3_5", "N4_5") in edges and ("N4_5", "N3_5") not in edges
    # Queue of ST1 is [2,6] -> [3,6] -> pick [4,6]; the pick cell is left, never entered backwards.
    assert ("N2_6", "N3_6") in edges and ("N3_6", "N2_6") not in edges
    stations = {s["stationId"]: s for s in lay["stations"]}
    assert stations["ST1"]["interactionNodeIds"] == ["N4_6"]
    assert stations["CH1"]["stationDescription"] == "wcs:charger"
    parse_lif(lif)  # what we write, we read


# --- general imports: grid fitting and what cannot be mapped ------------------------------------


def _lif(nodes: dict[str, tuple[float, float]], edges: list[tuple[str, str]], **extra: Any) -> dict:
    """A minimal valid LIF 1.0 document over `nodes` with two-way `edges` unless marked '>'."""
    vt = [{"vehicleTypeId": "V"}]
    out_edges = []
    for a, b in edges:
        pairs = [(a, b.lstrip(">"))] if b.startswith(">") else [(a, b), (b, a)]
        for s, e in pairs:
            out_edges.append(
                {
                    "edgeId": f"{s}-{e}",
                    "startNodeId": s,
                    "endNodeId": e,
                    "vehicleTypeEdgeProperties": [{"vehicleTypeId": "V", "rotationAllowed": False}],
                }
            )
    return {
        "metaInformation": {
            "projectIdentification": "t",
            "creator": "t",
            "exportTimestamp": "2025-01-01T00:00:00.00Z",
            "lifVersion": "1.0.0",
        },
        "layouts": [
            {
                "layoutId": "L",
                "layoutVersion": "1",
                "nodes": [
                    {"nodeId": k, "nodePosition": {"x": x, "y": y}, "vehicleTypeNodeProperties": vt}
                    for k, (x, y) in nodes.items()
                ],
                "edges": out_edges,
                "stations": extra.get("stations", []),
            }
        ],
    }


def test_off_grid_node_and_diagonal_edge_are_reported(tmp_path: Path) -> None:
    # A 3 x 3 grid of 2 m (nodes G<col><row>) plus a stray node X between grid points.
    nodes = {f"G{i}{j}": (2.0 * i, 2.0 * j) for i in range(3) for j in range(3)}
    nodes["X"] = (3.1, 1.3)
    edges = [(f"G{i}{j}", f"G{i + 1}{j}") for i in range(2) for j in range(3)]
    edges += [(f"G{i}{j}", f"G{i}{j + 1}") for i in range(3) for j in range(2)]
    edges += [("G00", "G11"), ("G22", "X")]
    yaml_text, notes = import_lif(_lif(nodes, edges))
    site = _write_and_load(tmp_path, yaml_text)
    assert site.cell_size_m == pytest.approx(2.0)
    assert site.num_nodes == 9
    assert any(n.startswith("nodes: 1 off the 2 m grid, left out: X") for n in notes)
    assert any("not along a grid axis, left out: G00-G11, G11-G00" in n for n in notes)
    assert any("2 touch a node left out, left out: G22-X, X-G22" in n for n in notes)


def test_long_straight_edges_fill_the_cells_between(tmp_path: Path) -> None:
    # Sparse nodes 3 m apart on a 1 m grid: A-B and B-C span three cells each.
    nodes = {"A": (0.0, 0.0), "B": (3.0, 0.0), "C": (3.0, 3.0), "D": (2.0, 3.0), "E": (1.0, 3.0)}
    lif = _lif(nodes, [("A", "B"), ("B", "C"), ("C", "D"), ("D", "E")])
    yaml_text, notes = import_lif(lif)
    site = _write_and_load(tmp_path, yaml_text)
    assert site.num_nodes == 9  # five nodes plus two filled cells on each long edge
    # Four directed edges (A<->B, B<->C) span several cells; they share the four filled cells.
    assert "edges: 4 span several cells; 4 floor cells filled in between" in notes


def test_grid_cannot_express_missing_side_moves_and_says_so(tmp_path: Path) -> None:
    # A 2 x 2 square with side A-C left out: the grid links neighbours unless an arrow can stop
    # it; '^' arrows on A and C forbid C -> A, but A -> C stays (an arrow cannot block both).
    nodes = {"A": (0.0, 0.0), "B": (1.0, 0.0), "C": (0.0, 1.0), "D": (1.0, 1.0)}
    lif = _lif(nodes, [("A", "B"), ("B", "D"), ("D", "C")])
    yaml_text, notes = import_lif(lif)
    _write_and_load(tmp_path, yaml_text)
    assert "edges: 1 moves the grid adds that the LIF lacks: A->C" in notes


def test_queue_is_read_back_from_the_one_way_chain(tmp_path: Path) -> None:
    # Ring A-B-C-D-E-F plus a station spur: F -> Q0 -> Q1 -> P -> A (one way).
    nodes = {
        "A": (0.0, 0.0), "B": (1.0, 0.0), "C": (2.0, 0.0), "D": (3.0, 0.0),
        "F": (0.0, 1.0), "E": (3.0, 1.0), "Q0": (0.0, 2.0), "Q1": (1.0, 2.0), "P": (2.0, 2.0),
        "G": (3.0, 2.0),
    }  # fmt: skip
    edges = [("A", "B"), ("B", "C"), ("C", "D"), ("D", "E"), ("E", "G"), ("F", "A")]
    edges += [("F", ">Q0"), ("Q0", ">Q1"), ("Q1", ">P"), ("P", ">G")]
    stations = [{"stationId": "S1", "interactionNodeIds": ["P"], "stationName": "Picking"}]
    yaml_text, _ = import_lif(_lif(nodes, edges, stations=stations))
    site = _write_and_load(tmp_path, yaml_text)
    s1 = site.stations["S1"]
    assert [site.coord(q) for q in s1.queue] == [(1, 1), (2, 1)]
    assert site.coord(s1.node) == (3, 1)


def test_vehicle_type_and_layout_choice() -> None:
    data = _handwritten()
    extra = copy.deepcopy(data["layouts"][0])
    extra["layoutId"] = "hall-b"
    for kind in ("nodes", "edges", "stations"):
        for item in extra[kind]:
            for key in ("nodeId", "edgeId", "stationId", "startNodeId", "endNodeId"):
                if key in item:
                    item[key] = "b-" + item[key]
            if "interactionNodeIds" in item:
                item["interactionNodeIds"] = ["b-" + n for n in item["interactionNodeIds"]]
    data["layouts"].append(extra)
    result = import_lif_site(data, layout_id="hall-b")
    assert "PICK-1" not in result.site.stations and "b-PICK-1" in result.site.stations
    assert any("imported 'hall-b' only; not imported: hall-a" in n for n in result.notes)
    with pytest.raises(LifError, match=r"^layouts: no layout 'hall-c'"):
        import_lif_site(data, layout_id="hall-c")
    with pytest.raises(LifError, match=r"no node is open to vehicle type 'Other'"):
        import_lif_site(data, vehicle_type_id="Other")


# --- malformed input: one error naming the JSON path --------------------------------------------


def _mutate(fn) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    data = _handwritten()
    fn(data)
    return data


def _set(path: list, value: Any):  # type: ignore[no-untyped-def]
    def apply(data: dict) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        if value is DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return apply


DELETE = object()
L0 = ["layouts", 0]

BAD_INPUTS = [
    ("missing layouts", _set(["layouts"], DELETE), "layouts: missing (required)"),
    ("empty layouts", _set(["layouts"], []), "layouts: must hold at least one layout"),
    (
        "edge to unknown node",
        _set([*L0, "edges", 3, "endNodeId"], "NOPE"),
        "layouts[0].edges[3].endNodeId: unknown node 'NOPE'",
    ),
    (
        "non-numeric position",
        _set([*L0, "nodes", 2, "nodePosition", "x"], "4.0"),
        "layouts[0].nodes[2].nodePosition.x: expected a number, got the string '4.0'",
    ),
    (
        "boolean position",
        _set([*L0, "nodes", 2, "nodePosition", "y"], True),
        "layouts[0].nodes[2].nodePosition.y: expected a number, got a boolean",
    ),
    (
        "duplicate nodeId",
        _set([*L0, "nodes", 3, "nodeId"], "T0"),
        "layouts[0].nodes[3].nodeId: duplicate nodeId 'T0' (first at layouts[0].nodes[1])",
    ),
    (
        "station on unknown node",
        _set([*L0, "stations", 1, "interactionNodeIds"], ["PS2", "GONE"]),
        "layouts[0].stations[1].interactionNodeIds[1]: unknown node 'GONE'",
    ),
    (
        "no vehicle type on a node",
        _set([*L0, "nodes", 0, "vehicleTypeNodeProperties"], []),
        "layouts[0].nodes[0].vehicleTypeNodeProperties: must not be empty",
    ),
    (
        "LIF 2.0",
        _set(["metaInformation", "lifVersion"], "2.0.0"),
        "metaInformation.lifVersion: LIF 2.0.0 is not supported",
    ),
    (
        "rotationAllowed missing",
        _set([*L0, "edges", 0, "vehicleTypeEdgeProperties", 0, "rotationAllowed"], DELETE),
        "layouts[0].edges[0].vehicleTypeEdgeProperties[0].rotationAllowed: missing (required)",
    ),
    (
        "disconnected result",
        _set([*L0, "edges"], []),
        "layouts[0]: the imported site does not validate:",
    ),
]


@pytest.mark.parametrize("fn,expected", [(fn, e) for _, fn, e in BAD_INPUTS],
                         ids=[b[0] for b in BAD_INPUTS])  # fmt: skip
def test_malformed_lif_names_the_json_path(fn, expected: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(LifError) as info:
        import_lif(_mutate(fn))
    message = str(info.value)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_document_that_is_not_an_object() -> None:
    with pytest.raises(LifError, match=r"^document: expected a JSON object, got an array"):
        import_lif([1, 2])


# --- the CLI, as real subprocesses -------------------------------------------------------------


def _wcs(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fleet_manager.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_import_writes_a_valid_map_and_prints_notes(tmp_path: Path) -> None:
    out = tmp_path / "site.yaml"
    res = _wcs("import-lif", str(HANDWRITTEN), "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "note: pods/skus:" in res.stdout
    assert f"{out}: ok: 19 nodes, 51 edges" in res.stdout
    check = _wcs("validate-map", str(out))
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize(
    "content,expected",
    [
        ('{"metaInformation": 3}', "metaInformation: expected a JSON object, got the number 3"),
        ("{\n  nope", "not valid JSON at line 2, column 3:"),
    ],
)
def test_cli_import_bad_input_exits_2_with_one_line(
    tmp_path: Path, content: str, expected: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    out = tmp_path / "site.yaml"
    res = _wcs("import-lif", str(bad), "--out", str(out))
    assert res.returncode == 2
    assert res.stderr.strip() == f"{bad}: {expected}" or res.stderr.startswith(f"{bad}: {expected}")
    assert len(res.stderr.strip().splitlines()) == 1
    assert "Traceback" not in res.stderr
    assert not out.exists()  # nothing half-written


def test_cli_export_default_map_then_import(tmp_path: Path) -> None:
    lif_path = tmp_path / "demo.lif.json"
    res = _wcs("export-lif", "--out", str(lif_path))  # default map: maps/demo.yaml
    assert res.returncode == 0, res.stderr
    assert "note: robots: 32 robot starts not written" in res.stdout
    layout = json.loads(lif_path.read_text())["layouts"][0]
    assert layout["layoutId"] == "demo"
    site_path = tmp_path / "demo-back.yaml"
    res = _wcs("import-lif", str(lif_path), "--out", str(site_path))
    assert res.returncode == 0, res.stderr
    assert _edges(load_site(site_path)) == _edges(load_site(REPO / "maps/demo.yaml"))


def test_cli_export_bad_map_exits_2(tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    res = _wcs("export-lif", "--map", "tests/data/maps/queue_wall.yaml", "--out", str(out))
    assert res.returncode == 2
    assert "queue cell is a wall" in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()


def test_nodes_spanning_a_huge_grid_are_refused_not_allocated() -> None:
    lif = _lif({"A": (0.0, 0.0), "B": (1.0, 0.0), "C": (5000.0, 5000.0)}, [("A", "B")])
    with pytest.raises(LifError, match=r"^layouts\[0\]\.nodes: the nodes span 5003 x 5003 cells"):
        import_lif(lif)
