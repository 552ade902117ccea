"""Screens, built in code: the main window and one module per screen."""
