"""Developer tools that run the app (screenshots)."""
