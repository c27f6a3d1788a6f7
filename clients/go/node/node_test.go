package node_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	eccov1 "ecco/clients/go/ecco/v1"
	"ecco/clients/go/node"
)

func TestSelectNamesTheRunningNodesWhenNoneMatches(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "nodes", "idle"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := node.Select("idle", home)
	if err == nil || !strings.Contains(err.Error(), `node "idle" is not running`) {
		t.Fatalf("want a not-running error, got %v", err)
	}
	if _, err := node.Select("bad/name", home); err == nil || !strings.Contains(err.Error(), "invalid node name") {
		t.Fatalf("want an invalid-name error, got %v", err)
	}
}

// liveNode is the running node the e2e test (tests/e2e/test_go_client.py) points ECCO_HOME and ECCO_NODE at.
func liveNode(t *testing.T) string {
	t.Helper()
	name := os.Getenv("ECCO_NODE")
	if name == "" || os.Getenv("ECCO_HOME") == "" {
		t.Skip("needs a running node: set ECCO_HOME and ECCO_NODE (tests/e2e/test_go_client.py does)")
	}
	return name
}

// answered fails unless the call reached the service: a real answer, or an ecco error with its ErrorInfo reason.
// Services that are not built yet answer UNIMPLEMENTED with FEATURE_NOT_IMPLEMENTED; once they are, a validation
// error (or a real answer) is just as good a proof that the call got through.
func answered(t *testing.T, method string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	code, reason := status.Code(err), node.Reason(err)
	switch {
	case reason == "":
		t.Errorf("%s: an error without an ecco reason: %v", method, err)
	case code == codes.Unimplemented && reason != "FEATURE_NOT_IMPLEMENTED":
		t.Errorf("%s: UNIMPLEMENTED with reason %s", method, reason)
	case code == codes.Internal || code == codes.Unknown || code == codes.Unavailable || code == codes.Unauthenticated:
		t.Errorf("%s: %v (%s)", method, err, reason)
	}
}

func TestEveryServiceAnswers(t *testing.T) {
	name := liveNode(t)
	for _, transport := range []struct {
		name string
		opts node.Options
	}{{"unix", node.Options{}}, {"tcp", node.Options{TCP: true}}} {
		t.Run(transport.name, func(t *testing.T) {
			conn, err := node.Dial(name, transport.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			callEveryService(ctx, t, conn, name)
		})
	}
}

func callEveryService(ctx context.Context, t *testing.T, conn *node.Conn, name string) {
	nodeStatus, err := conn.Node.GetStatus(ctx, &eccov1.GetStatusRequest{})
	if err != nil {
		t.Fatalf("GetStatus: %v", err)
	}
	if nodeStatus.GetName() != name || nodeStatus.GetPeerId() == "" {
		t.Errorf("GetStatus: name %q peer %q", nodeStatus.GetName(), nodeStatus.GetPeerId())
	}
	_, err = conn.Node.GetConfig(ctx, &eccov1.GetConfigRequest{})
	answered(t, "GetConfig", err)

	page, err := conn.Events.ListEvents(ctx, &eccov1.ListEventsRequest{PageSize: 10})
	if err != nil || len(page.GetEvents()) == 0 {
		t.Fatalf("ListEvents: %v, %d events", err, len(page.GetEvents()))
	}
	first := page.GetEvents()[0].GetCursor()
	committed, err := conn.Events.CommitCursor(ctx, &eccov1.CommitCursorRequest{Consumer: "go-test", Cursor: first})
	if err != nil || committed.GetCursor() < first {
		t.Errorf("CommitCursor: %v, cursor %d", err, committed.GetCursor())
	}
	got, err := conn.Events.GetCursor(ctx, &eccov1.GetCursorRequest{Consumer: "go-test"})
	if err != nil || got.GetCursor() != committed.GetCursor() {
		t.Errorf("GetCursor: %v, cursor %d", err, got.GetCursor())
	}
	stream, err := conn.Events.Subscribe(ctx, &eccov1.SubscribeRequest{Cursor: 0})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	replayed := 0
	for {
		batch, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		replayed += len(batch.GetEvents())
	}
	if replayed == 0 {
		t.Error("Subscribe replayed no event")
	}
	_, err = conn.Events.ListEvents(ctx, &eccov1.ListEventsRequest{Cursor: -1})
	if status.Code(err) != codes.InvalidArgument || node.Reason(err) != "INVALID_CURSOR" {
		t.Errorf("ListEvents(cursor -1): want INVALID_ARGUMENT/INVALID_CURSOR, got %v (%s)", err, node.Reason(err))
	}

	peers, err := conn.Messaging.ListPeers(ctx, &eccov1.ListPeersRequest{ConnectedOnly: true})
	if err != nil || peers.GetConnectedCount() == 0 {
		t.Errorf("ListPeers: %v, %d connected", err, peers.GetConnectedCount())
	}
	query := &eccov1.CapabilityQuery{Name: "nobody-offers-this"}
	_, err = conn.Discovery.FindPeers(ctx, &eccov1.FindPeersRequest{Query: query})
	answered(t, "FindPeers", err)
	_, err = conn.Discovery.ListReputation(ctx, &eccov1.ListReputationRequest{})
	answered(t, "ListReputation", err)

	_, err = conn.Consensus.Query(ctx, &eccov1.QueryRequest{})
	answered(t, "Consensus.Query", err)
	_, err = conn.Payment.ListInvoices(ctx, &eccov1.ListInvoicesRequest{})
	answered(t, "Payment.ListInvoices", err)
	_, err = conn.Registry.GetRegistration(ctx, &eccov1.GetRegistrationRequest{})
	answered(t, "Registry.GetRegistration", err)
	_, err = conn.Bridge.GetBridgeStatus(ctx, &eccov1.GetBridgeStatusRequest{})
	answered(t, "Bridge.GetBridgeStatus", err)
}

func TestTCPWithoutTheTokenIsRefused(t *testing.T) {
	name := liveNode(t)
	paths, err := node.Select(name, "")
	if err != nil {
		t.Fatal(err)
	}
	address, err := os.ReadFile(paths.TCPAddressFile())
	if err != nil {
		t.Fatal(err)
	}
	target := strings.TrimSpace(string(address))
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = eccov1.NewNodeServiceClient(conn).GetStatus(ctx, &eccov1.GetStatusRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("want UNAUTHENTICATED, got %v", err)
	}
}
