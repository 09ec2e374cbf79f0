"""Site loading: the demo and tiny maps, the floor graph rules, and `.map` grids."""

from __future__ import annotations

import itertools
from pathlib import Path

import networkx as nx
import pytest

from fleet_manager.site import default_map_path, load_site
from fleet_manager.site.graph_build import floor_graph
from fleet_manager.site.model import Site

REPO = Path(__file__).resolve().parents[1]
BENCH_MAPS = REPO.parent / "shared" / "benchmarks" / "maps"


@pytest.fixture(scope="module")
def demo() -> Site:
    return load_site(default_map_path())


def test_default_map_is_the_repo_demo() -> None:
    assert default_map_path() == REPO / "maps" / "demo.yaml"


def test_demo_meets_the_brief(demo: Site) -> None:
    assert len(demo.robots) >= 30
    assert len(demo.stations) == 4
    assert all(4 <= len(s.queue) <= 6 for s in demo.stations.values())
    assert len(demo.pods) >= 300 and 360 <= len(demo.slots) <= 400
    assert len(demo.chargers) >= 4 and len(demo.parking) >= 1
    (sorter,) = demo.sorters.values()
    roles = [lane.role for lane in sorter.lanes]
    assert roles.count("order") >= 8 and "overflow" in roles and "reject" in roles
    (aisle,) = demo.asrs.values()
    assert aisle.bays * aisle.levels * aisle.sides >= 800
    assert aisle.crane.travel_speed_mps == 4.0 and aisle.crane.hoist_speed_mps == 1.5
    assert 1.0 <= demo.cell_size_m <= 1.25
    assert len(demo.forbidden) >= 1
    assert any("oneway" in d for _, d in demo.graph.nodes(data=True))
    induct = [p for c in demo.conveyors.values() for p in c.points if p.kind == "induct"]
    assert len(induct) == 1 and induct[0].node is not None


def test_demo_is_one_strongly_connected_floor(demo: Site) -> None:
    assert nx.is_strongly_connected(demo.graph)
    assert sorted(demo.graph.nodes) == list(range(demo.num_nodes))
    for n, d in demo.graph.nodes(data=True):
        assert demo.coord(n) == (d["x"], d["y"])


def test_demo_pods_are_deterministic_and_fit(demo: Site) -> None:
    again = load_site(default_map_path())
    assert {p.id: (p.slot, p.inventory) for p in again.pods.values()} == {
        p.id: (p.slot, p.inventory) for p in demo.pods.values()
    }
    assert len({p.slot for p in demo.pods.values()}) == len(demo.pods)
    for pod in demo.pods.values():
        assert 4 <= len(pod.inventory) <= 10
        assert sum(pod.inventory.values()) <= pod.capacity_units
        assert set(pod.inventory) <= set(demo.skus)
    zones = [s.zone for s in demo.slots.values()]
    assert zones.count("A") == 80 and zones.count("C") == 200


def test_storage_slots_are_spurs(demo: Site) -> None:
    g = demo.graph
    for slot in demo.slots.values():
        nbrs = set(g.successors(slot.node)) | set(g.predecessors(slot.node))
        assert nbrs, slot.id
        for v in nbrs:
            assert g.nodes[v]["kind"] == "aisle"
            assert g.has_edge(slot.node, v) and g.has_edge(v, slot.node)


def test_station_queue_flows_to_the_pick_cell(demo: Site) -> None:
    g = demo.graph
    for st in demo.stations.values():
        chain = [*st.queue, st.node]
        for a, b in itertools.pairwise(chain):
            assert g.has_edge(a, b) and not g.has_edge(b, a)
        for q in st.queue[1:]:  # no side entry or exit mid-queue
            assert set(g.predecessors(q)) == {chain[chain.index(q) - 1]}
            assert set(g.successors(q)) == {chain[chain.index(q) + 1]}


def _site(tmp_path: Path, layout: str, extra: str = "") -> Site:
    body = "cell_size_m: 1.0\nlayout: |\n" + "".join(f"  {r}\n" for r in layout.split()) + extra
    path = tmp_path / "m.yaml"
    path.write_text(body)
    return load_site(path)


def test_one_way_lane_moves_only_with_the_arrow(tmp_path: Path) -> None:
    site = _site(tmp_path, "#######\n#.>>>.#\n#.....#\n#######")
    g, at = site.graph, site.node_at
    assert g.has_edge(at[2, 1], at[3, 1]) and not g.has_edge(at[3, 1], at[2, 1])
    assert g.has_edge(at[1, 1], at[2, 1]) and not g.has_edge(at[2, 1], at[1, 1])
    assert g.has_edge(at[4, 1], at[5, 1]) and not g.has_edge(at[5, 1], at[4, 1])
    assert g.has_edge(at[3, 1], at[3, 2]) and g.has_edge(at[3, 2], at[3, 1])  # side moves
    assert nx.is_strongly_connected(g)


def test_slots_never_link_to_slots_or_non_aisle() -> None:
    # .ss.
    # Css.   (the inner slot (2, 1) touches only slots and a charger: no edges at all)
    rows = [".ss.", "Css."]
    kind = {".": "aisle", "s": "storage", "C": "charger"}
    cells = [(x, y) for y, r in enumerate(rows) for x in range(len(r))]
    kinds = [kind[rows[y][x]] for x, y in cells]
    g = floor_graph(cells, kinds, {}, [])
    at = {c: i for i, c in enumerate(cells)}
    assert not g.has_edge(at[1, 0], at[2, 0]) and not g.has_edge(at[1, 0], at[1, 1])
    assert not g.has_edge(at[0, 1], at[1, 1]) and not g.has_edge(at[1, 1], at[0, 1])
    assert g.has_edge(at[0, 0], at[1, 0]) and g.has_edge(at[1, 0], at[0, 0])
    assert g.degree(at[1, 1]) == 0
    assert g.has_edge(at[0, 1], at[0, 0]) and g.has_edge(at[0, 0], at[0, 1])


def test_forbidden_zone_removes_cells(tmp_path: Path) -> None:
    zone = "forbidden:\n  - {id: Z, polygon_m: [[2.0, 1.0], [4.0, 1.0], [4.0, 2.0], [2.0, 2.0]]}\n"
    site = _site(tmp_path, "#######\n#.....#\n#.....#\n#######", zone)
    assert (2, 1) not in site.node_at and (3, 1) not in site.node_at
    assert (1, 1) in site.node_at and (4, 1) in site.node_at and (2, 2) in site.node_at
    assert site.num_nodes == 8 and nx.is_strongly_connected(site.graph)


def test_tiny_map_loads_with_explicit_lists() -> None:
    site = load_site(REPO / "maps" / "tiny.yaml")
    assert [r.id for r in site.robots] == ["R01", "R02", "R03"]
    assert set(site.chargers) == {"CH1"} and set(site.stations) == {"ST1"}
    assert site.pods["POD1"].inventory == {"SKU-A": 10, "SKU-B": 5}
    assert site.skus["SKU-A"].turnover_class == "A"
    assert site.asrs["AS1"].io_node == site.node_at[11, 3]
    assert site.conveyors["CV1"].points[0].node == site.node_at[11, 5]
    assert nx.is_strongly_connected(site.graph)


GRIDS = sorted(BENCH_MAPS.glob("**/*.map")) if BENCH_MAPS.is_dir() else []


@pytest.mark.skipif(not GRIDS, reason="shared benchmark maps are absent")
@pytest.mark.parametrize("path", GRIDS, ids=lambda p: p.name)
def test_benchmark_grids_load(path: Path) -> None:
    site = load_site(path)
    text = path.read_text().splitlines()
    rows = text[text.index("map") + 1 :]
    free = sum(ch in ".GSE" for row in rows for ch in row)
    assert site.num_nodes == free
    assert site.robots == [] and site.stations == {}
    x, y = site.coord(0)
    assert rows[y][x] in ".GSE"
    for u, v in list(site.graph.edges)[:500]:
        (ux, uy), (vx, vy) = site.coord(u), site.coord(v)
        assert abs(ux - vx) + abs(uy - vy) == 1 and site.graph.has_edge(v, u)
