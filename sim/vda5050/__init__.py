"""Simulated VDA 5050 2.1 vehicles: behaviour (vehicle.py) and their MQTT host process (host.py)."""
