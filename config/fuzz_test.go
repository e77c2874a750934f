package config

import (
	"strings"
	"testing"
)

// Any value of any variable gives a config or one line naming a variable.
func FuzzFromEnv(f *testing.F) {
	f.Add("15s", ":9100", "http://marathon.mesos:8080", "info", "false", "31000")
	f.Add("15", "9100", "marathon.mesos", "verbose", "yes", "")
	f.Add("-1h", "[::1]:80", "https://u:p@h/x\n", "WARN", "1", "x")
	f.Fuzz(func(t *testing.T, interval, listen, marathon, level, dry, port0 string) {
		e := base(t)
		e["ARANGOSCALE_INTERVAL"] = interval
		e["ARANGOSCALE_LISTEN"] = listen
		e["ARANGOSCALE_MARATHON_URL"] = marathon
		e["ARANGOSCALE_LOG_LEVEL"] = level
		e["ARANGOSCALE_DRY_RUN"] = dry
		e["PORT0"] = port0
		c, err := FromEnv(e.lookup)
		if err != nil {
			msg := err.Error()
			if strings.ContainsAny(msg, "\r\n") || !strings.HasPrefix(msg, "ARANGOSCALE_") {
				t.Fatalf("bad error text %q", msg)
			}
			return
		}
		if c.Interval <= 0 || c.Listen == "" {
			t.Fatalf("invalid config accepted: %+v", c)
		}
	})
}
