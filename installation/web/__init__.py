"""The remote control panel: a small web server inside the running installation (one more control)."""
