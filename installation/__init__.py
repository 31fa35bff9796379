"""Everything that touches the world: files, camera, display, controls, threads.

Rooms, along the data path: sources -> dreaming -> display / outputs; controls -> actions -> the app;
presets feed dreaming; ops keeps it running unattended; common holds shared primitives.
"""

from pathlib import Path

HOME = Path(__file__).resolve().parents[1]
"""The checkout the installation runs from: presets/, bindings/, cache/ and out/ live here."""
