"""vmssroll: safe rolling upgrades for Azure Virtual Machine Scale Sets."""

__version__ = "0.1.0"
