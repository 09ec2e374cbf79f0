"""Warehouse control system: allocation core, dispatch, traffic, AS/RS, WMS bridge, monitor."""
