"""Running unattended: systemd notify, the status file, the housekeeping thread, progress lines."""
