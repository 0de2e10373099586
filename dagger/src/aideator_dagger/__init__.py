"""Run AIdeator coding-agent variations in Dagger containers and compare them.

`stream-agent` runs one variation (the AIdeator server's dagger backend calls it, with its
relay and LLM gateway passed as services); `compare` runs several in parallel, checks each
patch in a fresh container and writes a ranked report; `agent` gives an interactive agent
container; `scripted-model` serves the offline scripted model used for demos and CI.
"""

from .main import Aideator as Aideator
