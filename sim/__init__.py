"""Warehouse simulator: clock, AMRs, stations, simulated PLCs, crane and robots."""
