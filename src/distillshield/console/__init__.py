"""The operator's console: a web page, served by the gateway at ``/console`` or alone by ``distillshield console``."""

from distillshield.console.app import Console, console_routes, standalone_app

__all__ = ["Console", "console_routes", "standalone_app"]
