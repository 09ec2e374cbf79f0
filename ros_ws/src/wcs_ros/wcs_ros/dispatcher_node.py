"""Fleet dispatcher node: task services, the ExecuteTask action and task state messages."""

# All decisions (allocation, routing, state machine) stay in the core Simulation; this node
# converts requests into core calls and core task events into messages, feedback and results.

from __future__ import annotations

from typing import Any

from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.action.server import ServerGoalHandle
from rclpy.node import Node
from rclpy.task import Future
from wcs_interfaces.action import ExecuteTask
from wcs_interfaces.msg import TaskState
from wcs_interfaces.srv import CancelTask, SubmitTask

from fleet_manager.domain import TERMINAL_STATES, IdFactory, TaskEvent
from fleet_manager.domain import TaskState as CoreTaskState
from fleet_manager.events import Event
from wcs_ros.convert import (
    ConversionError,
    feedback_to_ros,
    result_to_ros,
    task_event_to_ros,
    task_from_ros,
)
from wcs_ros.params import DISPATCHER_PARAMS, declare
from wcs_ros.qos import TASK_STATE_QOS


class _Goal:
    """An accepted ExecuteTask goal waiting for its task's terminal event."""

    def __init__(self, handle: ServerGoalHandle) -> None:
        self.handle = handle
        self.task_id = ''
        self.done: Future = Future()


class DispatcherNode(Node):
    """Shares the Simulation with the simulator node; runs in the same executor (one thread)."""

    def __init__(self, sim: Any, **node_kwargs: Any) -> None:
        super().__init__('wcs_dispatcher', **node_kwargs)
        self.params = declare(self, DISPATCHER_PARAMS)
        self.sim = sim
        self.ids = IdFactory()
        self._goals: dict[str, _Goal] = {}  # task id -> goal
        self.task_pub = self.create_publisher(TaskState, 'task_states', TASK_STATE_QOS)
        self.create_service(SubmitTask, 'submit_task', self._on_submit)
        self.create_service(CancelTask, 'cancel_task', self._on_cancel)
        self.action_server = ActionServer(
            self, ExecuteTask, 'execute_task', execute_callback=self._execute,
            goal_callback=self._on_goal, cancel_callback=self._on_cancel_goal)
        self._unsubscribe = self.sim.bus.subscribe(self._on_event)

    # --- services -------------------------------------------------------------------------
    def _submit(self, kind: str, priority: int, payload_json: str) -> str:
        task = task_from_ros(kind, priority, payload_json,
                             self.ids.next(self.params['task_id_prefix']), self.sim.now_s)
        self.sim.submit_task(task)
        return task.id

    def _on_submit(self, request: SubmitTask.Request,
                   response: SubmitTask.Response) -> SubmitTask.Response:
        try:
            response.task_id = self._submit(request.kind, request.priority, request.payload_json)
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
        """Reject malformed goals up front; the client sees a rejection, not a hang."""
        try:
            task_from_ros(goal.kind, goal.priority, goal.payload_json, 'probe', self.sim.now_s)
        except ConversionError as exc:
            self.get_logger().warning(f'rejected ExecuteTask goal: {exc}')
            return GoalResponse.REJECT
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
        goal = _Goal(handle)
        request = handle.request
        try:
            goal.task_id = self._submit(request.kind, request.priority, request.payload_json)
        except Exception as exc:  # noqa: B902, BLE001 - the core refused the task
            handle.abort()
            return ExecuteTask.Result(final_state=str(CoreTaskState.FAILED), reason=str(exc))
        self._goals[goal.task_id] = goal
        task = self.sim.tasks[goal.task_id]
        handle.publish_feedback(feedback_to_ros(task.history[-1], self.sim.now_s))
        if task.is_terminal:
            goal.done.set_result(task.history[-1])
        try:
            final: TaskEvent = await goal.done
        finally:
            self._goals.pop(goal.task_id, None)
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
        goal.handle.publish_feedback(feedback_to_ros(task_event, self.sim.now_s))
        if task_event.to_state in TERMINAL_STATES:
            goal.done.set_result(task_event)

    def _task_event(self, event: Event) -> TaskEvent | None:
        """Return the TaskEvent behind a 'task' bus event (the task's own history)."""
        task = self.sim.tasks.get(event.data.get('task_id'))
        if task is None or not task.history:
            return None
        return task.history[-1]

    def destroy_node(self) -> None:
        self._unsubscribe()
        self.action_server.destroy()
        super().destroy_node()
