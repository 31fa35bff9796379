"""Everything that touches the world: files, camera, display, controls, threads."""
