"""The only code that touches the Azure SDK; azure.* is imported inside functions so --help stays fast."""
