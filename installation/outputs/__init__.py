"""What leaves the show: recordings, videos, stills, the virtual camera."""
