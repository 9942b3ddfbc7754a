"""Observatoire ENT: Dagster code location and product code."""
