"""AIdeator agent program: runs one variation and prints the agent line protocol."""

__version__ = "0.1.0"
