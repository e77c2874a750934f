package marathon

import (
	"errors"
	"testing"
)

func FuzzDecodeApp(f *testing.F) {
	f.Add(appWithNewTaskIDsTB(f))
	f.Add([]byte(`{"app":` + string(fixture(f, "v1.10_raml_example_app.json")) + `}`))
	f.Add([]byte(`{"app":{"id":"/a","tasks":[{"id":"a.1","healthCheckResults":[null]}],"healthChecks":[{}]}}`))
	f.Add([]byte(`{"app":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		app, err := decodeApp(b)
		if err != nil {
			if app != nil {
				t.Fatalf("app and error: %v", err)
			}
			return
		}
		if app.ID == "" || app.Instances < 0 {
			t.Fatalf("accepted invalid app %+v", app)
		}
		for _, tk := range app.Tasks {
			if tk.ID == "" || tk.State == "" {
				t.Fatalf("accepted invalid task %+v", tk)
			}
			if tk.Healthy && tk.State != stateRunning {
				t.Fatalf("healthy but %s", tk.State)
			}
		}
	})
}

func FuzzDecodeQueue(f *testing.F) {
	f.Add(fixture(f, "v1.10_raml_example_queue.json"))
	f.Add(fixture(f, "v1.3.6_doc_get_queue.json"))
	f.Add([]byte(`{"queue":[{"pod":{"id":"/p"},"lastUnusedOffers":[{"reason":["A","A",""]}]}]}`))
	f.Add([]byte(`{"queue":[{"app":{"id":"/a"},"processedOffersSummary":{"rejectSummaryLastOffers":[{"reason":"A","declined":1},{"reason":"A","declined":1}]}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		items, err := decodeQueue(b)
		if err != nil {
			return
		}
		for _, it := range items {
			if it.AppID == "" {
				t.Fatalf("item without id: %+v", it)
			}
			seen := map[string]bool{}
			for _, r := range it.Reasons {
				if r == "" || seen[r] {
					t.Fatalf("bad reasons %v", it.Reasons)
				}
				seen[r] = true
			}
		}
	})
}

func FuzzNewAPIError(f *testing.F) {
	f.Add(409, fixture(f, "v1.3.6_doc_put_app_409_locked.json"))
	f.Add(409, fixture(f, "apps_raml_409_short.json"))
	f.Add(503, []byte("<html>503</html>"))
	f.Fuzz(func(t *testing.T, status int, b []byte) {
		e := newAPIError(status, b)
		if len(e.Message) > maxMessage+len("…") {
			t.Fatalf("message not shortened: %d bytes", len(e.Message))
		}
		_ = e.Error()
		if status == 409 && !errors.Is(e, ErrLocked) {
			t.Fatal("409 not ErrLocked")
		}
	})
}

func FuzzNewServiceAccount(f *testing.F) {
	f.Add([]byte(`{"uid":"u","scheme":"RS256","login_endpoint":"https://dcos/acs/api/v1/auth/login","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}`))
	f.Add([]byte(`{"uid":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := NewServiceAccount(b, nil, nil)
		if err == nil && ts == nil {
			t.Fatal("nil source without error")
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("untyped error %v", err)
		}
	})
}
