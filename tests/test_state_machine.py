"""The one task state machine: legal and illegal transitions, and every transition published."""

from __future__ import annotations

import pytest

from fleet_manager.domain import (
    LEGAL_TRANSITIONS,
    TERMINAL_STATES,
    IllegalTransition,
    Task,
    TaskKind,
    TaskState,
)
from fleet_manager.events import EventBus
from sim.site_gen import generate_site
from sim.world import Simulation


def _task() -> Task:
    return Task("T-1", TaskKind.PARK, 0.0)


@pytest.mark.parametrize("start", list(TaskState))
@pytest.mark.parametrize("to", list(TaskState))
def test_every_pair_follows_the_table(start: TaskState, to: TaskState) -> None:
    task = _task()
    task.state = start
    if to in LEGAL_TRANSITIONS[start]:
        event = task.transition(to, 1.0, "x", "R1" if to == TaskState.ASSIGNED else None)
        assert event.from_state == start and event.to_state == to and task.state == to
        assert task.history[-1] == event
    else:
        with pytest.raises(IllegalTransition, match=f"{start} -> {to}"):
            task.transition(to, 1.0, resource_id="R1")
        assert task.state == start


def test_terminal_states_are_final_and_assign_needs_a_resource() -> None:
    for state in TERMINAL_STATES:
        assert not LEGAL_TRANSITIONS[state]
    task = _task()
    with pytest.raises(IllegalTransition, match="resource"):
        task.transition(TaskState.ASSIGNED, 0.0)
    task.transition(TaskState.ASSIGNED, 0.0, resource_id="R1")
    assert task.resource_id == "R1"
    task.transition(TaskState.QUEUED, 1.0, "handed back")
    assert task.resource_id is None


def test_simulation_publishes_every_task_transition_once() -> None:
    bus = EventBus()
    seen: list[tuple[str, str, str]] = []
    bus.subscribe(
        lambda e: (
            seen.append((e.data["task_id"], e.kind, e.data["state"])) if e.topic == "task" else None
        )
    )
    sim = Simulation(generate_site(robots=4), seed=1, bus=bus)
    sim.run_until(400.0)
    assert sim.tasks, "the order stream should have created tasks"
    for task in sim.tasks.values():
        published = [kind for tid, kind, _ in seen if tid == task.id]
        # one "created" event, then one per transition in the task's own history
        assert published[0] == "created"
        assert published[1:] == [ev.to_state.value for ev in task.history[1:]]
    done = [t for t in sim.tasks.values() if t.state == TaskState.DONE]
    assert done and all(
        [e.to_state for e in t.history][:2] == [TaskState.QUEUED, TaskState.ASSIGNED] for t in done
    )
