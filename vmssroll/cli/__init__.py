"""The command line: Typer commands that parse, build the environment, call adapter and domain, emit."""
