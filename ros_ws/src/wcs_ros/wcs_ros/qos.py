"""QoS profiles per topic, chosen for what a late or lossy subscriber needs."""

# - fleet_state: best effort, keep last 1. Published at a steady rate; only the newest
#   positions matter and a retransmitted old one is worse than the next sample.
# - task_states, sort_events: reliable, keep last 100, volatile. Every transition counts for a
#   live subscriber; history belongs to the store, not to DDS.
# - alarms, conveyor_zones: reliable + transient local, keep last 100. They are state: a monitor
#   that starts late must still see the alarms raised and the zone states set before it joined.
# - services (server and clients): reliable, keep last SERVICE_DEPTH. The default depth of 10
#   drops the 11th request that arrives while the executor is busy, and its caller waits
#   forever; 1000 holds every burst the services answer in one executor pass (docs/ros.md
#   gives the measured rates). A client sending many calls at once needs the same depth, or
#   its replies overflow its own reader.
# - /clock: best effort, keep last 1 (rclpy's own time source subscribes this way).

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

FLEET_STATE_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1,
    reliability=ReliabilityPolicy.BEST_EFFORT, durability=DurabilityPolicy.VOLATILE)

EVENT_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=100,
    reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)

LATCHED_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=100,
    reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)

TASK_STATE_QOS = EVENT_QOS
SORT_EVENT_QOS = EVENT_QOS
ALARM_QOS = LATCHED_QOS
CONVEYOR_ZONE_QOS = LATCHED_QOS

SERVICE_DEPTH = 1000
SERVICE_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=SERVICE_DEPTH,
    reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)

CLOCK_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1,
    reliability=ReliabilityPolicy.BEST_EFFORT, durability=DurabilityPolicy.VOLATILE)
