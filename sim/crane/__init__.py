"""Simulated stacker crane: the crane's motion model and a Modbus server driven by crane telegrams."""
