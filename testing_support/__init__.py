"""Support code for the tests and the benchmarks, not product code: the wheel ships ``pipelines`` only
(pyproject.toml), and no module of ``pipelines/`` or ``dashboards/`` imports this package
(tests/test_import_layout.py)."""
