"""Running unattended: systemd notify, the status file, soak tests, progress lines."""
