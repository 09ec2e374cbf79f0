"""SimulatedRobot kinematics: ticks for moves, starts, turns and lifts; battery; command checks."""

from __future__ import annotations

import pytest

from fleet_manager.robots.adapter import CommandRejected, RobotAdapter
from fleet_manager.site.model import RobotModel, Site
from sim.kinematics import TickModel
from sim.robot import SimulatedRobot
from sim.site_gen import generate_site


@pytest.fixture(scope="module")
def site() -> Site:
    return generate_site(robots=2)


def _robot(site: Site, **kw: float) -> SimulatedRobot:
    ticks = TickModel.for_site(site)
    start = site.node_at[(1, 2)]  # aisle cell on the left edge
    return SimulatedRobot("R", start, site, ticks, **kw)


def _busy_ticks(robot: SimulatedRobot) -> int:
    n = 0
    while robot.status().busy:
        robot.advance(robot.ticks.tick_s)
        n += 1
    return n


def test_is_a_robot_adapter(site: Site) -> None:
    assert isinstance(_robot(site), RobotAdapter)


def test_start_from_rest_costs_speed_over_accel_then_cruise_is_free(site: Site) -> None:
    r = _robot(site)
    east = site.node_at[(2, 2)]
    r.move_to(east)
    r.advance(r.ticks.tick_s)
    # v / a = 1.5 s extra at 0.667 s per tick -> busy for ceil(1.5 / 0.667) = 3 ticks
    assert _busy_ticks(r) == r.ticks.ticks_for(r.ticks.start_penalty_s) == 3
    r.move_to(site.node_at[(3, 2)])  # it stood still while busy: starts from rest again
    r.advance(r.ticks.tick_s)
    with pytest.raises(CommandRejected, match="busy"):
        r.move_to(site.node_at[(4, 2)])
    assert r.node == site.node_at[(3, 2)]


def test_moving_on_without_stopping_has_no_penalty(site: Site) -> None:
    ticks = TickModel(RobotModel(accel_mps2=1e12, turn_time_s=0.0), site.cell_size_m, 1.0)
    r = SimulatedRobot("R", site.node_at[(1, 2)], site, ticks)
    for x in range(2, 8):
        assert not r.status().busy
        r.move_to(site.node_at[(x, 2)])
        r.advance(1.0)
    assert r.node == site.node_at[(7, 2)] and r.distance_cells == 6


def test_turns_and_lifts_take_time(site: Site) -> None:
    model = RobotModel(accel_mps2=1e12, turn_time_s=4.0, lift_time_s=2.0)
    ticks = TickModel(model, site.cell_size_m, 1.0)
    r = SimulatedRobot("R", site.node_at[(1, 2)], site, ticks, heading_deg=0.0)
    r.move_to(site.node_at[(1, 3)])  # south: a 90 degree turn = 1 s
    assert r.heading_deg == 270.0
    r.advance(1.0)
    assert _busy_ticks(r) == 1
    r.lift_pod("P1")
    assert r.status().pod_id == "P1" and r.status().busy
    assert _busy_ticks(r) == 2
    with pytest.raises(CommandRejected, match="already carries pod P1"):
        r.lift_pod("P2")
    r.set_down_pod()
    assert r.status().pod_id is None


def test_battery_drains_faster_moving_and_charges(site: Site) -> None:
    r = _robot(site, soc=0.5)
    m = r.ticks.model
    r.advance(3600.0)  # idle an hour
    assert r.soc == pytest.approx(0.5 - m.drain_idle_w / m.battery_wh)
    r.start_charging()
    r.advance(360.0)
    assert r.soc == pytest.approx(0.45 + (m.charge_w - m.drain_idle_w) * 0.1 / m.battery_wh)
    r.stop_charging()
    with pytest.raises(CommandRejected, match="robot R: .*not next to"):
        r.move_to(site.node_at[(5, 9)])
    r.soc = 0.00001
    r.move_to(site.node_at[(2, 2)])
    r.advance(r.ticks.tick_s)
    assert r.status().error == "battery_empty"


def test_paused_and_faulted_robots_refuse_moves(site: Site) -> None:
    r = _robot(site)
    r.pause()
    with pytest.raises(CommandRejected, match="paused"):
        r.move_to(site.node_at[(2, 2)])
    r.resume()
    r.set_fault("E1")
    with pytest.raises(CommandRejected, match="offline or faulted"):
        r.move_to(site.node_at[(2, 2)])
    assert r.status().error == "E1"
    r.move_to(r.node)  # staying put is always fine
