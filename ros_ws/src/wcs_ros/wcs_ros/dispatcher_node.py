"""Fleet dispatcher node: task services, the ExecuteTask action and task state messages."""

# All decisions (allocation, routing, state machine) stay in the core Simulation; this node
# converts requests into core calls and core task events into messages, feedback and results.
# Requests are checked by fleet_manager.requests (the one validator every entry point uses)
# and then submitted to the core, which may still refuse (e.g. a pod already taken). An
# ExecuteTask goal is submitted inside the goal callback: a refused goal is rejected at once,
# never accepted and then aborted.

from __future__ import annotations

from typing import Any

from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.action.server import ServerGoalHandle
from rclpy.node import Node
from rclpy.task import Future
from wcs_interfaces.action import ExecuteTask
from wcs_interfaces.msg import TaskState
from wcs_interfaces.srv import CancelTask, SubmitTask

from fleet_manager.domain import TERMINAL_STATES, IdFactory, Task, TaskEvent, TaskKind
from fleet_manager.domain import TaskState as CoreTaskState
from fleet_manager.events import Event
from fleet_manager.requests import check_fleet_task
from wcs_ros.convert import feedback_to_ros, parse_payload, result_to_ros, task_event_to_ros
from wcs_ros.params import DISPATCHER_PARAMS, checker, declare
from wcs_ros.qos import SERVICE_QOS, TASK_STATE_QOS

SHUTDOWN_REASON = 'the dispatcher node is shutting down; the task may still run in the core'


class _Goal:
    """An ExecuteTask goal whose task the core accepted; waits for the task's terminal event."""

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        self.handle: ServerGoalHandle | None = None
        self.done: Future = Future()


class DispatcherNode(Node):
    """Shares the Simulation with the simulator node; runs in the same executor (one thread)."""

    def __init__(self, sim: Any, **node_kwargs: Any) -> None:
        super().__init__('wcs_dispatcher', **node_kwargs)
        self.params = declare(self, DISPATCHER_PARAMS)
        self.add_on_set_parameters_callback(checker(DISPATCHER_PARAMS))
        self.add_post_set_parameters_callback(
            lambda changes: self.params.update({c.name: c.value for c in changes}))
        self.sim = sim
        self.ids = IdFactory()
        self._goals: dict[str, _Goal] = {}  # task id -> goal
        self._accepted: dict[int, _Goal] = {}  # id(goal request) -> goal, until execute runs
        self.shutting_down = False
        self.task_pub = self.create_publisher(TaskState, 'task_states', TASK_STATE_QOS)
        self.create_service(SubmitTask, 'submit_task', self._on_submit, qos_profile=SERVICE_QOS)
        self.create_service(CancelTask, 'cancel_task', self._on_cancel, qos_profile=SERVICE_QOS)
        self.action_server = ActionServer(
            self, ExecuteTask, 'execute_task', execute_callback=self._execute,
            goal_callback=self._on_goal, cancel_callback=self._on_cancel_goal,
            goal_service_qos_profile=SERVICE_QOS, result_service_qos_profile=SERVICE_QOS,
            cancel_service_qos_profile=SERVICE_QOS)
        self._unsubscribe = self.sim.bus.subscribe(self._on_event)

    # --- requests -------------------------------------------------------------------------
    def submit(self, kind: str, priority: int, payload_json: str) -> str:
        """Check, then submit to the core; raises an error naming the field at fault."""
        if self.shutting_down:
            raise RuntimeError('the dispatcher node is shutting down')
        payload = parse_payload(payload_json)
        task_kind = check_fleet_task(self.sim.site, self.sim.dispatcher.robots, kind, payload)
        task = Task(id=self.ids.next(self.params['task_id_prefix']), kind=TaskKind(task_kind),
                    created_s=self.sim.now_s, priority=int(priority), payload=payload)
        self.sim.submit_task(task)
        return task.id

    def _on_submit(self, request: SubmitTask.Request,
                   response: SubmitTask.Response) -> SubmitTask.Response:
        try:
            response.task_id = self.submit(request.kind, request.priority, request.payload_json)
            response.accepted = True
        except Exception as exc:  # noqa: B902, BLE001 - an error reply, never a crash
            response.accepted = False
            response.error = str(exc) or type(exc).__name__
        return response

    def _on_cancel(self, request: CancelTask.Request,
                   response: CancelTask.Response) -> CancelTask.Response:
        try:
            self.sim.cancel_task(request.task_id)
            response.accepted = True
        except Exception as exc:  # noqa: B902, BLE001
            response.accepted = False
            response.error = str(exc) or type(exc).__name__
        return response

    # --- action ---------------------------------------------------------------------------
    def _on_goal(self, goal: ExecuteTask.Goal) -> GoalResponse:
        """Submit now: the client learns of a refusal as a rejection, not a later abort."""
        try:
            task_id = self.submit(goal.kind, goal.priority, goal.payload_json)
        except Exception as exc:  # noqa: B902, BLE001 - refused by the checks or the core
            self.get_logger().warning(f'rejected ExecuteTask goal: {exc}')
            return GoalResponse.REJECT
        record = _Goal(task_id)
        self._goals[task_id] = record
        self._accepted[id(goal)] = record  # the handle's request is this very object
        return GoalResponse.ACCEPT

    def _on_cancel_goal(self, handle: ServerGoalHandle) -> CancelResponse:
        for task_id, goal in self._goals.items():
            if goal.handle is handle:
                try:
                    self.sim.cancel_task(task_id)
                except Exception as exc:  # noqa: B902, BLE001 - e.g. already terminal
                    self.get_logger().info(f'cancel of {task_id} refused: {exc}')
                    return CancelResponse.REJECT
                return CancelResponse.ACCEPT
        return CancelResponse.REJECT

    async def _execute(self, handle: ServerGoalHandle) -> ExecuteTask.Result:
        goal = self._accepted.pop(id(handle.request))
        goal.handle = handle
        task = self.sim.tasks[goal.task_id]
        for event in task.history:  # the changes since the goal callback submitted it, too
            handle.publish_feedback(feedback_to_ros(event, self.sim.now_s))
        if task.is_terminal and not goal.done.done():
            goal.done.set_result(task.history[-1])
        try:
            final: TaskEvent | str = await goal.done
        finally:
            self._goals.pop(goal.task_id, None)
        if isinstance(final, str):  # the node is shutting down: abort with the reason
            handle.abort()
            return ExecuteTask.Result(task_id=goal.task_id, final_state=str(task.state),
                                      reason=final)
        if final.to_state == CoreTaskState.DONE:
            handle.succeed()
        elif final.to_state == CoreTaskState.CANCELLED and handle.is_cancel_requested:
            handle.canceled()
        else:
            handle.abort()
        return result_to_ros(final)

    # --- core events ----------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if event.topic != 'task':
            return
        task_event = self._task_event(event)
        if task_event is None:
            return
        self.task_pub.publish(task_event_to_ros(task_event))
        goal = self._goals.get(task_event.task_id)
        if goal is None or goal.done.done():
            return
        if goal.handle is not None:
            goal.handle.publish_feedback(feedback_to_ros(task_event, self.sim.now_s))
        if task_event.to_state in TERMINAL_STATES:
            goal.done.set_result(task_event)

    def _task_event(self, event: Event) -> TaskEvent | None:
        """Return the TaskEvent behind a 'task' bus event (the task's own history)."""
        task = self.sim.tasks.get(event.data.get('task_id'))
        if task is None or not task.history:
            return None
        return task.history[-1]

    # --- shutdown -------------------------------------------------------------------------
    def prepare_shutdown(self) -> None:
        """Refuse new requests and abort every executing goal with the reason (run.drain)."""
        self.shutting_down = True
        for goal in list(self._goals.values()):
            if not goal.done.done():
                goal.done.set_result(SHUTDOWN_REASON)

    def destroy_node(self) -> None:
        self._unsubscribe()
        self.action_server.destroy()
        super().destroy_node()
