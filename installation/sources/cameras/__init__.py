"""Cameras: V4L2 discovery and stable names (devices), modes (modes), controls, settings, and the source."""
