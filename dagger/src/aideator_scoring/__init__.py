"""One scoring policy and one report schema for the server, the CLI and the Dagger module.

Standard library only: the Dagger module runs in the engine without the `app` package, so
both import this package (docs/scoring.md, docs/report-schema.md).
"""
