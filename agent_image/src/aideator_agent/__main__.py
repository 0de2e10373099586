"""`python -m aideator_agent` entry point."""

import sys

from aideator_agent.cli import main

sys.exit(main())
