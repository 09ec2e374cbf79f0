"""VDA 5050 2.1 master side: message building and validation, robot adapter, MQTT transport."""
