"""Publication: the small-cell-suppressed, read-only serving copy of the indicators that the dashboard reads.

``paths`` and ``suppression`` import no Dagster, so the dashboard can use them; ``assets`` holds the asset.
"""
