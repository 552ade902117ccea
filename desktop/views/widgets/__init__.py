"""Small widgets shared between screens."""
