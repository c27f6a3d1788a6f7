package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	eccov1 "ecco/clients/go/ecco/v1"
)

// APIMaxMessageBytes is the largest message the node's API sends or accepts (ecco/limits.py): above the largest
// event a node stores, so every event can be read. gRPC's default receive limit (4 MiB) is too small for that.
const APIMaxMessageBytes = 16 * 1024 * 1024

// Options say where to find a node and how to reach it.
type Options struct {
	// Home is the ECCO_HOME to look in; empty means $ECCO_HOME, else ~/.ecco.
	Home string
	// TCP connects over the node's loopback TCP listener (started with --api-listen) with the bearer token from
	// api.token, instead of over the unix socket.
	TCP bool
}

// Conn is a connection to one node, with a client for every service of the API.
type Conn struct {
	*grpc.ClientConn
	Paths     Paths
	Node      eccov1.NodeServiceClient
	Events    eccov1.EventServiceClient
	Messaging eccov1.MessagingServiceClient
	Discovery eccov1.DiscoveryServiceClient
	Consensus eccov1.ConsensusServiceClient
	Payment   eccov1.PaymentServiceClient
	Registry  eccov1.RegistryServiceClient
	Bridge    eccov1.BridgeServiceClient
}

// Dial connects to the node called name (see Select for an empty name). The connection is lazy: a node that is
// not serving yet shows up as an UNAVAILABLE error on the first call.
func Dial(name string, opts Options) (*Conn, error) {
	paths, err := Select(name, opts.Home)
	if err != nil {
		return nil, err
	}
	target, dialOpts := "unix:"+paths.Socket(), []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(APIMaxMessageBytes), grpc.MaxCallSendMsgSize(APIMaxMessageBytes)),
	}
	if opts.TCP {
		address, token, err := tcpEndpoint(paths)
		if err != nil {
			return nil, err
		}
		target = address
		dialOpts = append(dialOpts, grpc.WithPerRPCCredentials(bearer(token)))
	}
	conn, err := grpc.NewClient(target, dialOpts...)
	if err != nil {
		return nil, fmt.Errorf("node %q: %w", paths.Name, err)
	}
	return &Conn{
		ClientConn: conn,
		Paths:      paths,
		Node:       eccov1.NewNodeServiceClient(conn),
		Events:     eccov1.NewEventServiceClient(conn),
		Messaging:  eccov1.NewMessagingServiceClient(conn),
		Discovery:  eccov1.NewDiscoveryServiceClient(conn),
		Consensus:  eccov1.NewConsensusServiceClient(conn),
		Payment:    eccov1.NewPaymentServiceClient(conn),
		Registry:   eccov1.NewRegistryServiceClient(conn),
		Bridge:     eccov1.NewBridgeServiceClient(conn),
	}, nil
}

func tcpEndpoint(paths Paths) (address, token string, err error) {
	rawAddress, err := os.ReadFile(paths.TCPAddressFile())
	if errors.Is(err, os.ErrNotExist) {
		return "", "", fmt.Errorf(
			"node %q does not serve the API on TCP; start it with --api-listen 127.0.0.1:PORT", paths.Name)
	}
	if err != nil {
		return "", "", err
	}
	rawToken, err := os.ReadFile(paths.TokenFile())
	if err != nil {
		return "", "", fmt.Errorf("node %q: cannot read its API token: %w", paths.Name, err)
	}
	return strings.TrimSpace(string(rawAddress)), strings.TrimSpace(string(rawToken)), nil
}

// bearer sends `authorization: Bearer <token>` with every call. The daemon listens on loopback only, so the token
// travels without TLS.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }

// Reason is the ecco error reason (proto/ecco/v1/error_reason.proto) a failed call carries in its
// google.rpc.ErrorInfo, e.g. "PEER_NOT_FOUND"; empty when the error has none.
func Reason(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return ""
	}
	for _, detail := range st.Details() {
		if info, ok := detail.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}
