"""rqfast: a fast, wire-compatible retry engine for RQ."""
