//go:build race

package ha_test

import "testing"

// reconnectRace skips a test that lets the ZooKeeper client reconnect to
// its session while watches are set: go-zookeeper/zk v1.0.4 (the newest
// release) re-sends them in (*Conn).sendSetWatches, reading c.lastZxid
// while (*Conn).recvLoop writes it, and the race detector reports that
// library race (samuel/go-zookeeper#260, go-zookeeper/zk#35, open) as a
// failure of whichever test hit it. .ci/run runs these tests without -race.
func reconnectRace(t *testing.T) {
	t.Helper()
	t.Skip("under -race: go-zookeeper/zk races on a reconnect with watches (go-zookeeper/zk#35); run without -race")
}
