"""Entry point: python -m sim.crane --config config/plc/demo-crane.yaml."""

import sys

from sim.crane.cli import main

sys.exit(main())
