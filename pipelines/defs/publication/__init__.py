"""Publication, the stage that publishes the serving file: the read-only copy of the indicators that the
dashboard and the reports read, cleared by the disclosure engine (``pipelines.disclosure``).

``publish`` writes the file, ``assets`` holds the asset. Where the file lives, its schema version and how
to open it are the serving file's module, ``pipelines.serving_file`` (outside ``defs/``: no Dagster there,
the dashboard reads it).
"""
