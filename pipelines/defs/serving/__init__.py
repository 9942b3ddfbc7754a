"""Serving layer: small-cell-suppressed, read-only copies of the indicators for the dashboard and reports.

``paths`` and ``suppression`` import no Dagster, so the dashboard can use them; ``assets`` holds the asset.
"""
