"""Pure computation: networks, objectives, the dream step. No I/O, threads or display."""
