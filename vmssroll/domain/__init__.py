"""The functional core: plain data and pure functions, with no azure, typer or rich imports."""
