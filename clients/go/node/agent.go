package node

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	eccov1 "ecco/clients/go/ecco/v1"
)

// Request is an inbound agent-request another node sent to this one.
type Request struct {
	// PeerID is the sender, the peer every reply goes to.
	PeerID string
	// ID is the request's message id; every reply carries it as requestId.
	ID string
	// Prompt is the payload's "prompt" text.
	Prompt string
	// Event is the event-log entry the request came in as.
	Event *eccov1.Event
}

// Replier answers one request: any number of chunks, then Respond (or Fail). Each reply has an idempotency key
// derived from the request, so answering the same request again after a reconnect sends nothing twice: the peer
// drops message ids it has seen.
type Replier struct {
	conn    *Conn
	request Request
	chunks  int
}

// Chunk streams a partial answer (a stream-chunk).
func (r *Replier) Chunk(ctx context.Context, text string) error {
	r.chunks++
	return r.send(ctx, fmt.Sprintf("chunk-%d", r.chunks), "stream-chunk",
		map[string]any{"requestId": r.request.ID, "chunk": text, "partial": true})
}

// Respond sends the final answer: a stream-complete when chunks were streamed, then the agent-response.
func (r *Replier) Respond(ctx context.Context, text string) error {
	if r.chunks > 0 {
		complete := map[string]any{"requestId": r.request.ID, "text": text, "complete": true}
		if err := r.send(ctx, "complete", "stream-complete", complete); err != nil {
			return err
		}
	}
	return r.send(ctx, "response", "agent-response",
		map[string]any{"requestId": r.request.ID, "response": map[string]any{"text": text, "finishReason": "stop"}})
}

// Fail answers with an error instead of a result.
func (r *Replier) Fail(ctx context.Context, reason string) error {
	return r.send(ctx, "response", "agent-response",
		map[string]any{"requestId": r.request.ID, "response": map[string]any{"error": reason}})
}

func (r *Replier) send(ctx context.Context, suffix, kind string, payload map[string]any) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	_, err = r.conn.Messaging.SendMessage(ctx, &eccov1.SendMessageRequest{
		RequestId:   r.request.ID + ":" + suffix,
		PeerId:      r.request.PeerID,
		Type:        kind,
		PayloadJson: string(body),
	})
	return err
}

// Status reports what an Agent is doing, for logs and tests.
type Status struct {
	// State is "subscribed", "answered", "failed" (the handler or a reply failed; the request is skipped) or
	// "disconnected" (the agent reconnects and resumes from Cursor).
	State     string
	Cursor    int64
	RequestID string
	Err       error
}

// Agent answers the agent-requests that reach a node, one at a time, until its context ends.
//
// It follows the node's event log from its last cursor and records each handled request's cursor under Consumer,
// so after a reconnect (the daemon restarted, or the agent did) it resumes where it stopped and misses nothing.
type Agent struct {
	// Node is the node's name (see Select for an empty name); Options say how to reach it.
	Node    string
	Options Options
	// Consumer names this agent's committed cursor in the node; empty means "agent".
	Consumer string
	// Handle answers one request through the Replier.
	Handle func(ctx context.Context, reply *Replier, request Request) error
	// OnStatus, when set, hears about every state change.
	OnStatus func(Status)
	// MaxBackoff caps the wait between reconnect attempts; zero means 5 seconds.
	MaxBackoff time.Duration
}

// Run serves requests until ctx ends, reconnecting with exponential backoff whenever the node goes away.
func (a *Agent) Run(ctx context.Context) error {
	var cursor int64
	backoff, maxBackoff := 50*time.Millisecond, a.MaxBackoff
	if maxBackoff == 0 {
		maxBackoff = 5 * time.Second
	}
	for {
		resumed, err := a.serve(ctx, &cursor)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if resumed {
			backoff = 50 * time.Millisecond
		}
		a.report(Status{State: "disconnected", Cursor: cursor, Err: err})
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// serve runs one connection; it reports whether the node answered before the connection ended.
func (a *Agent) serve(ctx context.Context, cursor *int64) (bool, error) {
	conn, err := Dial(a.Node, a.Options)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	probe, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := conn.Node.GetStatus(probe, &eccov1.GetStatusRequest{}); err != nil {
		return false, err
	}
	consumer := a.Consumer
	if consumer == "" {
		consumer = "agent"
	}
	// The log is durable, so nothing is missed between here and the first event: the subscription replays every
	// request after max(cursor, the consumer's committed cursor), then follows new ones.
	stream, err := conn.Events.Subscribe(ctx, &eccov1.SubscribeRequest{
		Cursor: *cursor, Types: []string{"agent-request"}, Follow: true, Consumer: consumer,
	})
	if err != nil {
		return true, err
	}
	a.report(Status{State: "subscribed", Cursor: *cursor})
	for {
		batch, err := stream.Recv()
		if err != nil {
			return true, err
		}
		for _, event := range batch.GetEvents() {
			outcome, err := a.handle(ctx, conn, event)
			if err != nil {
				return true, err
			}
			commit := &eccov1.CommitCursorRequest{Consumer: consumer, Cursor: event.GetCursor()}
			if _, err := conn.Events.CommitCursor(ctx, commit); err != nil {
				return true, err
			}
			*cursor = event.GetCursor()
			if outcome != nil {
				a.report(*outcome) // once committed: a restarted agent will not answer this request again
			}
		}
	}
}

// handle answers one event and says how it went (nil for an event that is not an inbound request). Only a lost
// connection to our own node is returned as an error (the event is then retried after the reconnect); any other
// failure becomes a "failed" outcome and the request is skipped, so one bad request cannot wedge the agent.
func (a *Agent) handle(ctx context.Context, conn *Conn, event *eccov1.Event) (*Status, error) {
	if event.GetDirection() != eccov1.EventDirection_EVENT_DIRECTION_INBOUND {
		return nil, nil
	}
	request := Request{PeerID: event.GetPeerId(), ID: event.GetMessageId(), Event: event}
	prompt, ok := promptOf(event.GetPayloadJson())
	request.Prompt = prompt
	replier := &Replier{conn: conn, request: request}
	var err error
	if ok {
		err = a.Handle(ctx, replier, request)
	} else {
		err = replier.Fail(ctx, "invalid agent-request: missing prompt")
	}
	if err != nil && connectionLost(err) {
		return nil, err
	}
	state := "answered"
	if err != nil {
		state = "failed"
	}
	return &Status{State: state, Cursor: event.GetCursor(), RequestID: request.ID, Err: err}, nil
}

// promptOf is the prompt of an agent-request payload, as the daemon reads it: {"prompt": "text"}, or AI-SDK
// messages ({"prompt": [{"role": "user", "content": "text" or [{"type": "text", "text": "..."}]}]}) whose user
// text parts are joined with newlines.
func promptOf(payloadJSON string) (string, bool) {
	var payload struct {
		Prompt json.RawMessage `json:"prompt"`
	}
	if json.Unmarshal([]byte(payloadJSON), &payload) != nil {
		return "", false
	}
	var text string
	if json.Unmarshal(payload.Prompt, &text) == nil {
		return text, true
	}
	var messages []json.RawMessage
	if json.Unmarshal(payload.Prompt, &messages) != nil {
		return "", false
	}
	var texts []string
	for _, raw := range messages {
		var message struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		}
		if json.Unmarshal(raw, &message) != nil || message.Role != "user" {
			continue
		}
		if json.Unmarshal(message.Content, &text) == nil {
			texts = append(texts, text)
			continue
		}
		var parts []json.RawMessage
		_ = json.Unmarshal(message.Content, &parts)
		for _, rawPart := range parts {
			var part struct {
				Text *string `json:"text"`
			}
			if json.Unmarshal(rawPart, &part) == nil && part.Text != nil {
				texts = append(texts, *part.Text)
			}
		}
	}
	return strings.Join(texts, "\n"), len(texts) > 0
}

func connectionLost(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.Canceled, codes.DeadlineExceeded:
		return true
	}
	return false
}

func (a *Agent) report(s Status) {
	if a.OnStatus != nil {
		a.OnStatus(s)
	}
}
