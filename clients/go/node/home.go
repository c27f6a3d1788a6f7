// Package node connects Go programs to a local ecco node by its name, the way the ecco CLI does: over the node's
// unix socket, or over loopback TCP with the bearer token from the node's state directory.
package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
)

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Paths names the files of one node's state directory, $ECCO_HOME/nodes/<name>/.
type Paths struct {
	Name string
	Home string
}

// Dir is the node's state directory.
func (p Paths) Dir() string { return filepath.Join(p.Home, "nodes", p.Name) }

// Socket is the gRPC unix socket (mode 0600).
func (p Paths) Socket() string { return filepath.Join(p.Dir(), "api.sock") }

// TokenFile holds the bearer token every call over TCP must carry.
func (p Paths) TokenFile() string { return filepath.Join(p.Dir(), "api.token") }

// TCPAddressFile holds "127.0.0.1:PORT" while the daemon serves the API on loopback TCP.
func (p Paths) TCPAddressFile() string { return filepath.Join(p.Dir(), "api.tcp") }

func (p Paths) lockFile() string { return filepath.Join(p.Dir(), "daemon.lock") }

// Running reports whether a daemon holds the node's lock. The daemon keeps an exclusive flock on daemon.lock for
// its whole life and the kernel drops it however the process dies, so a stale pid file can never fool this.
func (p Paths) Running() bool {
	file, err := os.Open(p.lockFile())
	if err != nil {
		return false
	}
	defer file.Close()
	if err := syscall.Flock(int(file.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	_ = syscall.Flock(int(file.Fd()), syscall.LOCK_UN)
	return false
}

// Home is the root of all node state: $ECCO_HOME, else ~/.ecco.
func Home() string {
	if home := os.Getenv("ECCO_HOME"); home != "" {
		return home
	}
	user, err := os.UserHomeDir()
	if err != nil {
		return ".ecco"
	}
	return filepath.Join(user, ".ecco")
}

// RunningNodes lists the nodes under home (Home() when empty) whose daemon is running, sorted by name.
func RunningNodes(home string) []Paths {
	if home == "" {
		home = Home()
	}
	entries, err := os.ReadDir(filepath.Join(home, "nodes"))
	if err != nil {
		return nil
	}
	var found []Paths
	for _, entry := range entries {
		paths := Paths{Name: entry.Name(), Home: home}
		if entry.IsDir() && namePattern.MatchString(entry.Name()) && paths.Running() {
			found = append(found, paths)
		}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Name < found[j].Name })
	return found
}

// Select picks a node like the CLI does: the given name, then $ECCO_NODE, then the only running node.
func Select(name, home string) (Paths, error) {
	if home == "" {
		home = Home()
	}
	if name == "" {
		name = os.Getenv("ECCO_NODE")
	}
	if name != "" {
		if !namePattern.MatchString(name) {
			return Paths{}, fmt.Errorf("invalid node name %q: use 1-64 characters of letters, digits, '.', '_' or '-'", name)
		}
		paths := Paths{Name: name, Home: home}
		if !paths.Running() {
			// Every node's lock is looked up only for this message, as the Python CLI does.
			return Paths{}, fmt.Errorf("node %q is not running; %s", name, describe(RunningNodes(home)))
		}
		return paths, nil
	}
	running := RunningNodes(home)
	switch len(running) {
	case 1:
		return running[0], nil
	case 0:
		return Paths{}, errors.New(describe(running))
	default:
		return Paths{}, fmt.Errorf("several nodes are running; choose one by name or ECCO_NODE (%s)", describe(running))
	}
}

func describe(nodes []Paths) string {
	if len(nodes) == 0 {
		return "no node is running; start one with `ecco up --name <name>`"
	}
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.Name
	}
	return "running nodes: " + strings.Join(names, ", ")
}
