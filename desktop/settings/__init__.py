"""Where the app keeps things: UI state (QSettings), profiles (JSON file), secrets (keyring)."""
