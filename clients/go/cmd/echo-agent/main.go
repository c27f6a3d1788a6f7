// Command echo-agent is an example ecco agent: it answers every agent-request that reaches its node with the
// prompt itself, streamed back word by word, then the final agent-response. It prints one JSON line per state
// change ({"state": "subscribed"|"answered"|"failed"|"disconnected", "cursor": N, ...}) and resumes from its last
// cursor when the node restarts.
//
//	go run ./cmd/echo-agent -node alice            # over the unix socket
//	go run ./cmd/echo-agent -node alice -tcp       # over loopback TCP with the node's bearer token
package main

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"ecco/clients/go/node"
)

func main() {
	name := flag.String("node", "", "the node to serve (default: $ECCO_NODE, else the only running node)")
	tcp := flag.Bool("tcp", false, "connect over loopback TCP with the bearer token instead of the unix socket")
	consumer := flag.String("consumer", "echo-agent", "the name under which the node keeps this agent's cursor")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out := json.NewEncoder(os.Stdout)
	agent := &node.Agent{
		Node:     *name,
		Options:  node.Options{TCP: *tcp},
		Consumer: *consumer,
		Handle:   echo,
		OnStatus: func(s node.Status) {
			line := map[string]any{"state": s.State, "cursor": s.Cursor}
			if s.RequestID != "" {
				line["requestId"] = s.RequestID
			}
			if s.Err != nil {
				line["error"] = s.Err.Error()
			}
			_ = out.Encode(line)
		},
	}
	if err := agent.Run(ctx); err != nil && ctx.Err() == nil {
		os.Exit(1)
	}
}

// echo streams the prompt back one word at a time (the chunks join to the whole prompt), then answers with it.
func echo(ctx context.Context, reply *node.Replier, request node.Request) error {
	for _, word := range strings.SplitAfter(request.Prompt, " ") {
		if err := reply.Chunk(ctx, word); err != nil {
			return err
		}
	}
	return reply.Respond(ctx, request.Prompt)
}
