"""Data-quality gates with Great Expectations 1.x (suites are defined in the top-level expectations/ folder)."""
