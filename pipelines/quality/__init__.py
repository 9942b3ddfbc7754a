"""Data quality: the rule counter of the SQL asset checks (``violations.py``) and Great Expectations 1.x
suites run on small or sampled frames inside asset checks (``gx_validation.py``)."""
