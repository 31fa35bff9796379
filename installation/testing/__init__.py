"""Test doubles shipped with the code (scheduled camera faults for soak runs and tests)."""
