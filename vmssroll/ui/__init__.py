"""Rich renderables of domain values, and the one place that writes to the terminal."""
