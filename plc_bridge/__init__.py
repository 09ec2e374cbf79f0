"""PLC bridge: Modbus TCP/RTU transport, register maps, handshakes, conveyors and sorter."""
