"""The gRPC edge: servicers that translate between protobuf and the services, one interceptor that maps errors
and checks the TCP token, and the servers that expose them."""
