"""The show's one clock: where the beat is, from Ableton Link, MIDI clock, OSC or tap tempo."""
