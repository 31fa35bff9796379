"""What is on screen: the renderer, the HUD, crossfades."""
