"""pbl: schema-and-operations toolkit for the Bun Payment Linker PostgreSQL database."""

__version__ = "0.1.0"
