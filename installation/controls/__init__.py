"""Keyboard, MIDI, OSC, opening hours and audio become Actions for one dispatcher."""
