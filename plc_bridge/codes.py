"""Numeric codes on the wire: command codes, zone states, fault codes (see docs/plc-interface.md)."""

from __future__ import annotations

# `command` mailbox codes (args in arg[0..])
CMD_START = 1  # start the conveyors (refused while e-stop is active)
CMD_STOP = 2  # controlled stop
CMD_RESET_FAULT = 3  # clear a latched fault (e.g. the WCS watchdog trip)
CMD_SET_LANE_ENABLED = 4  # arg0 lane number, arg1 1 enable / 0 disable
CMD_LANE_EMPTIED = 5  # arg0 lane number: an operator emptied the lane, fill count -> 0
CMD_ECHO = 6  # arg0..: test command; reply[0] = arg0; executes nothing
CMD_ESTOP = 7  # arg0 1 press / 0 release (simulated PLC only: stands for the e-stop button)
CMD_INDUCT = 8  # transport order: arg0 induct point (1-based), arg1..6 item barcode (12 ASCII)
INDUCT_BARCODE_WORDS = 6

COMMAND_NAMES = {
    CMD_START: "start",
    CMD_STOP: "stop",
    CMD_RESET_FAULT: "reset_fault",
    CMD_SET_LANE_ENABLED: "set_lane_enabled",
    CMD_LANE_EMPTIED: "lane_emptied",
    CMD_ECHO: "echo",
    CMD_ESTOP: "estop",
    CMD_INDUCT: "induct",
}

# `divert` mailbox code
DIVERT = 1  # arg0 tracking id, arg1 lane number (1-based; 0 = let it pass)

# `zones` words
UNKNOWN = "unknown"  # any state the bridge cannot know (link down, not yet read)
ZONE_STOPPED = 0
ZONE_RUNNING = 1
ZONE_JAMMED = 2
ZONE_FULL = 3
ZONE_NAMES = {
    ZONE_STOPPED: "stopped",
    ZONE_RUNNING: "running",
    ZONE_JAMMED: "jammed",
    ZONE_FULL: "full",
}

# `status.fault_code`
FAULT_NONE = 0
FAULT_WCS_WATCHDOG = 1  # WCS heartbeat unchanged for one watchdog period: conveyors stopped
FAULT_ESTOP = 2
FAULT_JAM = 3
FAULT_NAMES = {
    FAULT_NONE: "none",
    FAULT_WCS_WATCHDOG: "wcs watchdog",
    FAULT_ESTOP: "e-stop",
    FAULT_JAM: "jam",
}

NOREAD = "NOREAD"  # barcode text of a scan that read nothing
