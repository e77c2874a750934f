package arangodb

import (
	"errors"
	"os"
	"testing"
)

// FuzzParseJob: any queryAgencyJob body yields a Job with a known status
// or ErrBadResponse, never a panic.
func FuzzParseJob(f *testing.F) {
	for _, name := range []string{"kube-arangodb_doc_queryAgencyJob_pending.json", "kube-arangodb_doc_queryAgencyJob_finished.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"type":"cleanOutServer","jobId":"1","job":"1","status":"Failed","reason":"x"}`))
	f.Add([]byte(`{"status":"ToDo","job":{"timeCreated":17}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		j, err := parseJob("op", "1", body)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		switch j.Status {
		case JobToDo, JobPending, JobFinished, JobFailed:
		default:
			t.Fatalf("status %q accepted", j.Status)
		}
		if j.ID == "" {
			t.Fatal("job without ID")
		}
	})
}
