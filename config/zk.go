package config

import (
	"net"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// DefaultZKRoot is the chroot of ARANGOSCALE_ZK when its URL has no path.
const DefaultZKRoot = "/arangoscale"

// ZKTarget is ARANGOSCALE_ZK parsed: the ensemble and the chroot.
type ZKTarget struct {
	Servers []string // host:port
	Root    string
}

// ParseZK parses zk://host:port,host:port/chroot as Mesos and Marathon
// write it (the port defaults to 2181, the chroot to /arangoscale).
func ParseZK(raw string) (ZKTarget, error) {
	rest, ok := strings.CutPrefix(raw, "zk://")
	if !ok {
		return ZKTarget{}, bad("ZK", "%q: want zk://host:port[,host:port…][/chroot]", redactURL(raw))
	}
	hosts, root, _ := strings.Cut(rest, "/")
	if strings.Contains(hosts, "@") {
		return ZKTarget{}, bad("ZK", "credentials do not go in the URL; use %s", varName("ZK_AUTH_FILE"))
	}
	var t ZKTarget
	for _, h := range strings.Split(hosts, ",") {
		if h == "" {
			return ZKTarget{}, bad("ZK", "%q: empty host", raw)
		}
		host, port, err := net.SplitHostPort(h)
		if err != nil {
			host, port = h, "2181"
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 || host == "" || strings.ContainsAny(host, "?#[] ") {
			return ZKTarget{}, bad("ZK", "%q: bad host:port %q", raw, h)
		}
		t.Servers = append(t.Servers, net.JoinHostPort(host, port))
	}
	if root == "" {
		t.Root = DefaultZKRoot
	} else {
		if u, err := url.PathUnescape(root); err != nil || u != root || strings.ContainsAny(root, "?#") {
			return ZKTarget{}, bad("ZK", "%q: bad chroot %q", raw, "/"+root)
		}
		for _, part := range strings.Split(strings.Trim(root, "/"), "/") {
			if part == "." || part == ".." {
				return ZKTarget{}, bad("ZK", "%q: bad chroot %q", raw, "/"+root)
			}
		}
		t.Root = path.Clean("/" + root)
		if t.Root == "/zookeeper" || strings.HasPrefix(t.Root, "/zookeeper/") {
			return ZKTarget{}, bad("ZK", "%q: chroot %q is ZooKeeper's own", raw, t.Root)
		}
		if t.Root == "/" {
			t.Root = DefaultZKRoot
		}
	}
	return t, nil
}

func (c *Config) validateZK() error {
	if c.ZK == "" {
		if c.ZKAuthFile != "" {
			return bad("ZK_AUTH_FILE", "set without %s", varName("ZK"))
		}
		return nil
	}
	if _, err := ParseZK(c.ZK); err != nil {
		return err
	}
	if c.ZKAuthFile != "" {
		if err := checkFile("ZK_AUTH_FILE", c.ZKAuthFile); err != nil {
			return err
		}
	}
	// A change sent just before a disconnect must end before the session
	// can expire and another replica take the cluster over.
	if c.ZKSessionTimeout <= c.SourceTimeout {
		return bad("ZK_SESSION_TIMEOUT", "%s must be longer than %s (%s)", c.ZKSessionTimeout, varName("SOURCE_TIMEOUT"), c.SourceTimeout)
	}
	return nil
}
