"""The `ecco` command line: one gRPC client of the node among others."""
