// Package zktest starts a real ZooKeeper for tests: Debian's zookeeper
// package run from its jars, standalone, on a free loopback port with a
// temporary data directory, and a TCP proxy in front of it that cuts a
// client off.
package zktest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// Jar is the ZooKeeper server jar of Debian's zookeeper package; its
// manifest's Class-Path names the other jars it needs.
const Jar = "/usr/share/java/zookeeper.jar"

// Server is one standalone ZooKeeper process.
type Server struct {
	t    testing.TB
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts a ZooKeeper server and stops it when the test ends. Without
// Java or the zookeeper package it skips, or fails when CI is set.
func Start(t testing.TB) *Server {
	t.Helper()
	_, err := exec.LookPath("java")
	if _, serr := os.Stat(Jar); err != nil || serr != nil {
		msg := "install zookeeper: apt-get install zookeeper (needs " + Jar + " and java)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	s := &Server{t: t, dir: t.TempDir(), port: freePort(t)}
	cfg := fmt.Sprintf(`tickTime=100
dataDir=%s
clientPort=%d
clientPortAddress=127.0.0.1
minSessionTimeout=200
maxSessionTimeout=60000
admin.enableServer=false
maxClientCnxns=0
4lw.commands.whitelist=ruok
`, filepath.Join(s.dir, "data"), s.port)
	if err := os.MkdirAll(filepath.Join(s.dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "zoo.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start() {
	s.t.Helper()
	log, err := os.OpenFile(filepath.Join(s.dir, "zookeeper.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command("java", "-Xmx256m", "-cp", Jar,
		"org.apache.zookeeper.server.quorum.QuorumPeerMain", filepath.Join(s.dir, "zoo.cfg"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start zookeeper: %v", err)
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	go func() { _ = cmd.Wait(); _ = log.Close(); close(s.done) }()
	s.waitReady()
}

// waitReady polls the server's ruok until it answers imok: there is no
// other way to learn that a separate process listens.
func (s *Server) waitReady() {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			b, _ := os.ReadFile(filepath.Join(s.dir, "zookeeper.log"))
			s.t.Fatalf("zookeeper exited: %s", b)
		default:
		}
		if ruok(s.Addr()) && s.session(deadline) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("zookeeper did not answer on %s within 60s", s.Addr())
}

// session opens a real client session: a server that answers ruok may not
// take sessions yet, and a client that tries too early waits long.
func (s *Server) session(deadline time.Time) bool {
	c, events, err := zk.Connect([]string{s.Addr()}, 2*time.Second, zk.WithLogger(quiet{}))
	if err != nil {
		return false
	}
	defer c.Close()
	limit := time.After(time.Until(deadline))
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return true
			}
		case <-limit:
			return false
		}
	}
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}

func ruok(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("ruok")); err != nil {
		return false
	}
	b := make([]byte, 4)
	n, _ := c.Read(b)
	return string(b[:n]) == "imok"
}

// Addr is host:port of the server.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Stop kills the server (no clean shutdown: it stands for ZooKeeper
// becoming unreachable) and waits for it to exit.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Restart starts the server again on the same port and data, as a
// recovered ensemble: sessions that are still within their timeout live on.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
