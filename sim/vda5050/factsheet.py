"""The factsheet a simulated VDA 5050 vehicle publishes on `factsheetRequest`."""

from __future__ import annotations

from typing import Any

from fleet_manager.site.model import RobotModel

INSTANT_ACTIONS = (
    "cancelOrder", "startPause", "stopPause", "initPosition", "factsheetRequest",
    "stateRequest", "startCharging", "stopCharging",
)
NODE_ACTIONS = ("pick", "drop")


def factsheet_body(
    model: RobotModel, state_interval_s: float, series: str = "WCS-SIM pod carrier",
    version: str = "2.1",
) -> dict[str, Any]:
    """Factsheet fields after the header (2.1 or 3.0 schema); geometry is a 1 m x 0.8 m carrier."""
    if version == "3.0":
        return _factsheet_v3(model, state_interval_s, series)
    actions = [{"actionType": a, "actionScopes": ["INSTANT"]} for a in INSTANT_ACTIONS]
    actions += [{"actionType": a, "actionScopes": ["NODE"]} for a in NODE_ACTIONS]
    return {
        "typeSpecification": {
            "seriesName": series,
            "agvKinematic": "DIFF",
            "agvClass": "CARRIER",
            "maxLoadMass": 500.0,
            "localizationTypes": ["DMC"],
            "navigationTypes": ["VIRTUAL_LINE_GUIDED"],
        },
        "physicalParameters": {
            "speedMin": 0.0,
            "speedMax": model.speed_mps,
            "accelerationMax": model.accel_mps2,
            "decelerationMax": model.accel_mps2,
            "heightMax": 0.4,
            "width": 0.8,
            "length": 1.0,
        },
        "protocolLimits": {
            "maxStringLens": {},
            "maxArrayLens": {},
            "timing": {"minOrderInterval": 0.0, "minStateInterval": 0.0,
                       "defaultStateInterval": state_interval_s},
        },
        "protocolFeatures": {"optionalParameters": [], "agvActions": actions},
        "agvGeometry": {},
        "loadSpecification": {"loadPositions": ["top"]},
    }


def _factsheet_v3(model: RobotModel, state_interval_s: float, series: str) -> dict[str, Any]:
    """3.0 renamed most factsheet fields (agv* -> mobileRobot*, speedMax -> maximumSpeed...)."""
    # The 3.0.0 schema types pauseAllowed/cancelAllowed as string although it describes them
    # as true/false: send "false" so the message validates against the official file.
    flags = {"pauseAllowed": "false", "cancelAllowed": "false"}
    actions = [{"actionType": a, "actionScopes": ["INSTANT"], **flags} for a in INSTANT_ACTIONS]
    actions += [{"actionType": a, "actionScopes": ["NODE"], **flags} for a in NODE_ACTIONS]
    kinematic = "DIFF"
    return {
        "typeSpecification": {
            "seriesName": series,
            # The 3.0.0 schema requires `mobileRobotKinematic` but describes
            # `mobileRobotKinematics`: send both so either reading validates.
            "mobileRobotKinematic": kinematic,
            "mobileRobotKinematics": kinematic,
            "mobileRobotClass": "CARRIER",
            "maximumLoadMass": 500.0,
            "localizationTypes": ["DMC"],
            "navigationTypes": ["VIRTUAL_LINE_GUIDED"],
        },
        "physicalParameters": {
            "minimumSpeed": 0.0,
            "maximumSpeed": model.speed_mps,
            "maximumAcceleration": model.accel_mps2,
            "maximumDeceleration": model.accel_mps2,
            "minimumHeight": 0.4,
            "maximumHeight": 0.4,
            "width": 0.8,
            "length": 1.0,
        },
        "protocolLimits": {
            "maximumStringLengths": {},
            "maximumArrayLengths": {},
            "timing": {"minimumOrderInterval": 0.0, "minimumStateInterval": 0.0,
                       "defaultStateInterval": state_interval_s},
        },
        "protocolFeatures": {"optionalParameters": [], "mobileRobotActions": actions},
        "mobileRobotGeometry": {},
        "loadSpecification": {"loadPositions": ["top"]},
    }
