"""Live charts: pyqtgraph plots over bounded numpy ring buffers."""
