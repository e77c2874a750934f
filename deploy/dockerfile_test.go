package deploy_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction with continuations joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
	line int
}

type stage struct {
	from  string
	name  string
	insts []instruction
}

func parseDockerfile(t *testing.T, path string) []stage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		insts []instruction
		cur   strings.Builder
		start int
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() > 0 && strings.HasPrefix(line, "#") {
			continue // comments inside a continued instruction
		}
		if cur.Len() == 0 {
			start = n
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		insts = append(insts, instruction{cmd: strings.ToUpper(cmd), args: strings.Join(strings.Fields(args), " "), line: start})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur.Len() > 0 {
		t.Fatalf("%s: dangling line continuation at the end", path)
	}
	var stages []stage
	for _, in := range insts {
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			s := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				t.Fatalf("%s:%d: %s before the first FROM", path, in.line, in.cmd)
			}
			continue
		}
		stages[len(stages)-1].insts = append(stages[len(stages)-1].insts, in)
	}
	return stages
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.insts {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

func (s stage) last(t *testing.T, cmd string) instruction {
	t.Helper()
	all := s.all(cmd)
	if len(all) == 0 {
		t.Fatalf("final stage has no %s", cmd)
	}
	return all[len(all)-1]
}

func execForm(t *testing.T, in instruction) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(in.args), &v); err != nil {
		t.Fatalf("line %d: %s %s is not in exec (JSON array) form: %v", in.line, in.cmd, in.args, err)
	}
	return v
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, filepath.Join("..", "Dockerfile"))
	if len(stages) < 2 {
		t.Fatalf("want a multi-stage build, got %d stage(s)", len(stages))
	}
	final := stages[len(stages)-1]

	// The build stage: a static, trimmed, stamped binary of ./cmd/arangoscale.
	var build *stage
	var goBuild instruction
	for i := range stages[:len(stages)-1] {
		for _, in := range stages[i].all("RUN") {
			if strings.Contains(in.args, "go build") {
				build, goBuild = &stages[i], in
			}
		}
	}
	if build == nil {
		t.Fatal("no stage runs go build")
	}
	if !strings.HasPrefix(build.from, "golang:") {
		t.Errorf("build stage FROM %s, want a golang image", build.from)
	}
	if want := "golang:" + goMinor(t); !strings.HasPrefix(build.from, want) {
		t.Errorf("build stage FROM %s, want %s* to match go.mod", build.from, want)
	}
	cgoOff := strings.Contains(goBuild.args, "CGO_ENABLED=0")
	for _, env := range build.all("ENV") {
		if regexp.MustCompile(`(^|\s)CGO_ENABLED[= ]0(\s|$)`).MatchString(env.args) {
			cgoOff = true
		}
	}
	if !cgoOff {
		t.Error("go build does not run with CGO_ENABLED=0")
	}
	for _, want := range []string{"-trimpath", "./cmd/arangoscale", "-X main.version=${VERSION}", "-X main.commit=${COMMIT}"} {
		if !strings.Contains(goBuild.args, want) {
			t.Errorf("go build (line %d) lacks %q: %s", goBuild.line, want, goBuild.args)
		}
	}
	args := map[string]bool{}
	for _, a := range build.all("ARG") {
		name, _, _ := strings.Cut(a.args, "=")
		args[name] = true
	}
	if !args["VERSION"] || !args["COMMIT"] {
		t.Errorf("build stage must declare ARG VERSION and ARG COMMIT, has %v", args)
	}
	if _, err := os.Stat(filepath.Join("..", "cmd", "arangoscale")); err != nil {
		t.Errorf("build target: %v", err)
	}

	// The runtime stage: CA certificates, non-root, arangoscale run on 9100.
	switch {
	case strings.HasPrefix(final.from, "gcr.io/distroless/static-debian12:nonroot"):
	case final.from == "scratch":
		certs := false
		for _, c := range final.all("COPY") {
			certs = certs || strings.Contains(c.args, "ca-certificates.crt")
		}
		if !certs {
			t.Error("scratch image without CA certificates")
		}
	default:
		t.Errorf("final stage FROM %s, want gcr.io/distroless/static-debian12:nonroot or scratch", final.from)
	}
	user := final.last(t, "USER").args
	if u, _, _ := strings.Cut(user, ":"); u == "" || u == "0" || u == "root" {
		t.Errorf("USER %q: want a non-root user", user)
	}
	copied := false
	for _, c := range final.all("COPY") {
		copied = copied || (strings.Contains(c.args, "--from=") && strings.HasSuffix(c.args, "/usr/local/bin/arangoscale"))
	}
	if !copied {
		t.Error("final stage does not copy the binary to /usr/local/bin/arangoscale (on PATH)")
	}
	if ep := execForm(t, final.last(t, "ENTRYPOINT")); len(ep) != 1 || ep[0] != "arangoscale" {
		t.Errorf("ENTRYPOINT %q, want [\"arangoscale\"]", ep)
	}
	if cmd := execForm(t, final.last(t, "CMD")); len(cmd) != 1 || cmd[0] != "run" {
		t.Errorf("CMD %q, want [\"run\"]", cmd)
	}
	if e := final.last(t, "EXPOSE").args; !strings.Contains(" "+e+" ", " 9100 ") && !strings.Contains(" "+e+" ", " 9100/tcp ") {
		t.Errorf("EXPOSE %s, want 9100", e)
	}
}

// The CI script builds the same binary the same way as the image.
func TestCIBuildsLikeDockerfile(t *testing.T) {
	ci, err := os.ReadFile(filepath.Join("..", ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CGO_ENABLED=0 go build -trimpath", "-X main.version=", "-X main.commit=", "./cmd/arangoscale", "promtool test rules"} {
		if !strings.Contains(string(ci), want) {
			t.Errorf(".ci/run lacks %q", want)
		}
	}
}

func goMinor(t *testing.T) string {
	t.Helper()
	mod, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	return string(m[1])
}
