"""Allocation core: cost matrices and pluggable policies that assign tasks to robots."""

from fleet_manager.allocation.costs import (
    INFEASIBLE,
    CostModel,
    RobotView,
    TaskView,
    needs_charge,
)
from fleet_manager.allocation.policies import (
    POLICIES,
    AssignmentPolicy,
    BatchOptimal,
    FirstComeNearest,
    GreedyCheapest,
    make_assignment_policy,
)

__all__ = [
    "INFEASIBLE",
    "POLICIES",
    "AssignmentPolicy",
    "BatchOptimal",
    "CostModel",
    "FirstComeNearest",
    "GreedyCheapest",
    "RobotView",
    "TaskView",
    "make_assignment_policy",
    "needs_charge",
]
