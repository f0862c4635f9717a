"""The measurements, one module per kind of work."""
