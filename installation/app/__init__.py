"""The installation: wiring and lifecycle of the rooms above."""
