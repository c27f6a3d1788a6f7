"""Generated gRPC and protobuf stubs for the ecco.v1 API (regenerate with `make gen`; never edit by hand)."""
