"""The command line: Typer commands that parse, build the environment, call the adapter and the domain, emit."""
