"""The listener registry: listener name -> actor address, payload classes, description, peers."""

from .directory import Directory, Entry

__all__ = ["Directory", "Entry"]
