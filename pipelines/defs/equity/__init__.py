"""Equity assets: inequality summaries, IPS-quintile rates and per-school flags, computed from the
school × period adoption rates with the pure measures of ``pipelines.equity``."""
