package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseZK(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want ZKTarget
		err  string
	}{
		{raw: "zk://zk-1.zk:2181,zk-2.zk:2181,zk-3.zk:2181/arangoscale",
			want: ZKTarget{Servers: []string{"zk-1.zk:2181", "zk-2.zk:2181", "zk-3.zk:2181"}, Root: "/arangoscale"}},
		{raw: "zk://master.mesos", want: ZKTarget{Servers: []string{"master.mesos:2181"}, Root: "/arangoscale"}},
		{raw: "zk://127.0.0.1:2182/dcos/arangoscale/", want: ZKTarget{Servers: []string{"127.0.0.1:2182"}, Root: "/dcos/arangoscale"}},
		{raw: "master.mesos:2181", err: "want zk://"},
		{raw: "zk://a:2181,,b:2181/x", err: "empty host"},
		{raw: "zk://a:99999/x", err: "bad host:port"},
		{raw: "zk://user:pw@a:2181/x", err: "ARANGOSCALE_ZK_AUTH_FILE"},
		{raw: "zk://a:2181/x/../y", err: "bad chroot"},
	} {
		got, err := ParseZK(tc.raw)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "ARANGOSCALE_ZK: ") || !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: error %v, want one naming ARANGOSCALE_ZK with %q", tc.raw, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, %v; want %+v", tc.raw, got, err, tc.want)
		}
	}
}

func TestZKSettings(t *testing.T) {
	e := base(t)
	e["ARANGOSCALE_ZK"] = "zk://zk-1.zk:2181/arangoscale"
	e["ARANGOSCALE_ZK_AUTH_FILE"] = writeFile(t, "zk-auth", "arangoscale:s3cret\n")
	c, err := FromEnv(e.lookup)
	if err != nil {
		t.Fatal(err)
	}
	if c.ZKSessionTimeout != 10*time.Second {
		t.Fatalf("session timeout default %s", c.ZKSessionTimeout)
	}
	s, err := c.LoadSecrets()
	if err != nil || s.ZKAuth != "arangoscale:s3cret" {
		t.Fatalf("auth %q, %v", s.ZKAuth, err)
	}
	if strings.Contains(s.String(), "s3cret") {
		t.Fatal("secret printed")
	}

	for _, tc := range []struct {
		set  map[string]string
		want string
	}{
		{map[string]string{"ARANGOSCALE_ZK_SESSION_TIMEOUT": "10"}, "ARANGOSCALE_ZK_SESSION_TIMEOUT"},
		{map[string]string{"ARANGOSCALE_ZK_SESSION_TIMEOUT": "4s"}, "ARANGOSCALE_ZK_SESSION_TIMEOUT: 4s must be longer than ARANGOSCALE_SOURCE_TIMEOUT"},
		{map[string]string{"ARANGOSCALE_ZK_AUTH_FILE": "/nonexistent/zk-auth"}, "ARANGOSCALE_ZK_AUTH_FILE"},
		{map[string]string{"ARANGOSCALE_ZK": ""}, "ARANGOSCALE_ZK_AUTH_FILE: set without ARANGOSCALE_ZK"},
	} {
		e2 := env{}
		for k, v := range e {
			e2[k] = v
		}
		for k, v := range tc.set {
			e2[k] = v
		}
		_, err := FromEnv(e2.lookup)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.set, err, tc.want)
		}
	}

	e["ARANGOSCALE_ZK_AUTH_FILE"] = writeFile(t, "zk-auth-bad", "no-colon\n")
	c, err = FromEnv(e.lookup)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.LoadSecrets(); err == nil || !strings.HasPrefix(err.Error(), "ARANGOSCALE_ZK_AUTH_FILE: ") || strings.Contains(err.Error(), "no-colon") {
		t.Fatalf("bad auth file: %v", err)
	}
}
