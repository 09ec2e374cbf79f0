"""Plant files: which devices a site has (fleets, PLCs, cranes, stations) and how each is reached."""

from fleet_manager.plant.errors import PlantError, PlantProblem
from fleet_manager.plant.loader import load_plant, parse_plant
from fleet_manager.plant.model import (
    Clock,
    CraneDevice,
    Fleet,
    Link,
    ModbusRtu,
    ModbusTcp,
    MqttBroker,
    OrderGenerator,
    Plant,
    PlcDevice,
    Ros2Fleet,
    SimulatedFleet,
    StationSetup,
    Vda5050Fleet,
)

__all__ = [
    "Clock",
    "CraneDevice",
    "Fleet",
    "Link",
    "ModbusRtu",
    "ModbusTcp",
    "MqttBroker",
    "OrderGenerator",
    "Plant",
    "PlantError",
    "PlantProblem",
    "PlcDevice",
    "Ros2Fleet",
    "SimulatedFleet",
    "StationSetup",
    "Vda5050Fleet",
    "load_plant",
    "parse_plant",
]
