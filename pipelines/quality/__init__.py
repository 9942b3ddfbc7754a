"""Data quality: Great Expectations 1.x suites run on small or sampled frames inside asset checks."""
