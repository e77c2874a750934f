package dcos

import "net/http"

// Handlers maps each listener's address (host:port, as in the URLs this
// cluster hands out) to the handler it serves, wrapped as its listener's
// is, so an in-process transport can serve the same requests without the
// socket. Empty before Start.
func (c *Cluster) Handlers() map[string]http.Handler {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]http.Handler{}
	add := func(s *server) {
		if s != nil {
			out[s.ln.Addr().String()] = s.srv.Handler
		}
	}
	add(c.marathonSrv)
	add(c.masterSrv)
	for _, ag := range c.agents {
		add(ag.srv)
	}
	return out
}
