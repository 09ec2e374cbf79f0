"""The factsheet a simulated VDA 5050 vehicle publishes on `factsheetRequest`."""

from __future__ import annotations

from typing import Any

from fleet_manager.site.model import RobotModel

INSTANT_ACTIONS = (
    "cancelOrder", "startPause", "stopPause", "initPosition", "factsheetRequest",
    "stateRequest", "startCharging", "stopCharging",
)
NODE_ACTIONS = ("pick", "drop")


def factsheet_body(model: RobotModel, state_interval_s: float, series: str = "WCS-SIM pod carrier") -> dict[str, Any]:
    """Factsheet fields after the header (2.1 schema); geometry is a 1 m square carrier."""
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
