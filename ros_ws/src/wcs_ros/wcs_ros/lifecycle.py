"""A LifecycleNode that answers a transition invalid from its current state with success=false."""

# The pinned rclpy (Jazzy 7.1.6) lets `trigger_transition_by_id` raise RCLError ("Transition is
# not registered") out of the change_state service callback, which ends the executor and the
# process. Upstream fixed it later; here the request is checked against the transitions
# available from the current state first, and an RCLError from any transition becomes a
# refusal, so a wrong request from a client never stops the node.

from __future__ import annotations

from typing import Any

from lifecycle_msgs.srv import ChangeState
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn


class GuardedLifecycleNode(LifecycleNode):
    """LifecycleNode whose change_state service and trigger_* never raise on a bad request."""

    def __init__(self, node_name: str, **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        service = getattr(self, '_service_change_state', None)
        if service is not None:
            self._unguarded_change_state = service.callback
            service.callback = self._guarded_change_state

    @property
    def lifecycle_state(self) -> str:
        """Label of the current primary or transition state (e.g. 'active')."""
        return str(self._state_machine.current_state[1])

    def available_transitions(self) -> dict[int, str]:
        """Transition id -> label, for the transitions valid from the current state."""
        return {t[0]: t[1] for t in self._state_machine.available_transitions}

    def refusal(self, transition_id: int, label: str) -> str | None:
        """Why the transition (by id, or by label when given) is invalid now, or None."""
        valid = self.available_transitions()
        if label:
            ok = label in valid.values()
        else:
            ok = transition_id in valid
        if ok:
            return None
        asked = label or f'id {transition_id}'
        return (f'transition {asked} is not valid from state {self.lifecycle_state} '
                f'(valid: {", ".join(sorted(set(valid.values()))) or "none"})')

    def _guarded_change_state(self, request: ChangeState.Request,
                              response: ChangeState.Response) -> ChangeState.Response:
        why = self.refusal(request.transition.id, request.transition.label)
        if why is not None:
            self.get_logger().warning(f'change_state refused: {why}')
            response.success = False
            return response
        try:
            return self._unguarded_change_state(request, response)
        except _rclpy.RCLError as exc:  # e.g. a transition the state machine still refuses
            self.get_logger().warning(f'change_state refused: {exc}')
            response.success = False
            return response

    def trigger(self, label: str) -> TransitionCallbackReturn:
        """Run the transition `label` from the current state; FAILURE when it is invalid now."""
        why = self.refusal(0, label)
        if why is not None:
            self.get_logger().warning(why)
            return TransitionCallbackReturn.FAILURE
        triggers = {'configure': self.trigger_configure, 'activate': self.trigger_activate,
                    'deactivate': self.trigger_deactivate, 'cleanup': self.trigger_cleanup,
                    'shutdown': self.trigger_shutdown}
        try:
            return triggers[label]()
        except (KeyError, _rclpy.RCLError) as exc:
            self.get_logger().warning(f'transition {label} refused: {exc}')
            return TransitionCallbackReturn.FAILURE
