"""Publication, the stage that publishes the serving file: the read-only copy of the indicators that the
dashboard and the reports read, cleared by the disclosure engine (``pipelines.disclosure``).

``paths`` imports no Dagster, so the dashboard can use it; ``assets`` holds the asset.
"""
