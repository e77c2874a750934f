package statuspage

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/arangoscale/arangoscale/controller"
)

//go:embed assets/page.html assets/style.css
var assets embed.FS

var pageTmpl = template.Must(template.New("page.html").Funcs(template.FuncMap{
	"ago":   ago,
	"pct":   func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
	"num":   num,
	"join":  func(s []string) string { return strings.Join(s, ", ") },
	"stamp": func(t time.Time) string { return t.UTC().Format("15:04:05") },
	"sub":   func(a, b int) int { return a - b },
	"tags":  tags,
}).ParseFS(assets, "assets/page.html"))

// Options configure the page.
type Options struct {
	// Logger receives template errors (default: discarded).
	Logger *slog.Logger
}

// Handler serves the page at "/" (GET /{$}) and its stylesheet at
// assets/style.css. Mount it next to the controller's endpoints.
func Handler(status func() controller.Status, h *History, o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	static, _ := fs.Sub(assets, "assets")
	mux := http.NewServeMux()
	mux.Handle("GET /assets/style.css", http.StripPrefix("/assets/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		data := view(status(), h)
		data.Base = basePath(r)
		var buf bytes.Buffer
		if err := pageTmpl.Execute(&buf, data); err != nil {
			o.Logger.Error("status page", "error", err)
			http.Error(w, "status page failed; /status has the same in JSON\n", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(buf.Bytes())
	})
	return mux
}

// safePrefix is what an X-Forwarded-Prefix may be: a plain path.
var safePrefix = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+/?$`)

// basePath is the <base href> the relative links resolve against: the
// admin router's prefix when it says so, else the page itself ("./").
func basePath(r *http.Request) string {
	p := r.Header.Get("X-Forwarded-Prefix")
	if p == "" || !safePrefix.MatchString(p) {
		return "./"
	}
	return strings.TrimSuffix(p, "/") + "/"
}

type pageData struct {
	Base      string
	Status    controller.Status
	Clusters  []clusterView
	Decisions []Decision
	Window    time.Duration
}

type clusterView struct {
	controller.ClusterRun
	Roles []roleView
}

type roleView struct {
	controller.RoleStatus
	Signals []signalView
	Plot    plot
}

type signalView struct {
	controller.SignalStatus
	Ratio float64 // value / target
	Bar   float64 // bar width in percent, 0..100 (100 = twice the target)
	Class string  // under, near, over or missing
}

func view(st controller.Status, h *History) pageData {
	d := pageData{Status: st, Window: h.Window()}
	for _, cl := range st.Clusters {
		cv := clusterView{ClusterRun: cl}
		for _, rs := range cl.Roles {
			rv := roleView{RoleStatus: rs, Plot: newPlot(h.Samples(cl.Name, rs.Role), st.Time, h.Window(), rs.Min, rs.Max)}
			for _, s := range rs.Signals {
				sv := signalView{SignalStatus: s, Class: "missing"}
				if !s.Missing && s.Target > 0 {
					sv.Ratio = s.Value / s.Target
					sv.Bar = math.Min(100, sv.Ratio*50)
					switch {
					case sv.Ratio > 1.1:
						sv.Class = "over"
					case sv.Ratio >= 0.9:
						sv.Class = "near"
					default:
						sv.Class = "under"
					}
				}
				rv.Signals = append(rv.Signals, sv)
			}
			cv.Roles = append(cv.Roles, rv)
		}
		d.Clusters = append(d.Clusters, cv)
	}
	d.Decisions = h.Decisions()
	return d
}

func num(f float64) string {
	switch a := math.Abs(f); {
	case a >= 100:
		return fmt.Sprintf("%.0f", f)
	case a >= 10:
		return fmt.Sprintf("%.1f", f)
	default:
		return fmt.Sprintf("%.3g", f)
	}
}

// ago says how long before now t was, as a person reads it.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	if d < 0 {
		return "in " + (-d).Round(time.Second).String()
	}
	return d.Round(time.Second).String() + " ago"
}

// reasonTag is one reason of a decision; Blocked when it held the role back.
type reasonTag struct {
	Name    string
	Blocked bool
}

func tags(reasons, blocked []string) []reasonTag {
	out := make([]reasonTag, 0, len(reasons)+len(blocked))
	seen := map[string]bool{}
	for _, r := range reasons {
		seen[r] = true
		out = append(out, reasonTag{Name: r, Blocked: slices.Contains(blocked, r)})
	}
	for _, b := range blocked {
		if !seen[b] {
			out = append(out, reasonTag{Name: b, Blocked: true})
		}
	}
	return out
}
