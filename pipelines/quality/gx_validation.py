"""Run a Great Expectations 1.x suite on a pandas frame and turn the result into Dagster check output.

Row-level rules run in DuckDB SQL at ingest (rejected rows go to quarantine); GX validates what is
small or sampled: the manifest, aggregated tables and a stratified sample of events
(see the "Validation at scale" finding in the design notes). GX is imported lazily: it is slow to import.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pandas as pd


class Expect(NamedTuple):
    """A GX expectation by class name and arguments, built only when a suite runs (GX imports slowly)."""

    name: str
    kwargs: dict[str, Any]


def expect(name: str, **kwargs: Any) -> Expect:
    return Expect(name, kwargs)


def run_suite(name: str, frame: pd.DataFrame, expectations: list[Expect]) -> tuple[bool, dict[str, Any]]:
    """Validate ``frame`` against ``expectations``; return (success, metadata for the check)."""
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas(f"{name}_source")
        .add_dataframe_asset(name)
        .add_batch_definition_whole_dataframe(f"{name}_batch")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    suite = gx.ExpectationSuite(name=name)
    for expectation in expectations:
        suite.add_expectation(getattr(gxe, expectation.name)(**expectation.kwargs))
    result = batch.validate(suite)
    failures = [
        {
            "expectation": r.expectation_config.type,
            "column": r.expectation_config.kwargs.get("column") or r.expectation_config.kwargs.get("column_list"),
            "unexpected_count": r.result.get("unexpected_count"),
            "partial_unexpected": [str(v) for v in (r.result.get("partial_unexpected_list") or [])[:5]],
        }
        for r in result.results
        if not r.success
    ]
    return result.success, {
        "suite": name,
        "rows_validated": len(frame),
        "expectations": len(expectations),
        "failed": len(failures),
        "failures": failures,
    }
