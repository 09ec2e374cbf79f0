"""Simulated PLC: a Modbus TCP/RTU server process running conveyor and sorter physics."""
