package metrics

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/clock"
)

// benchBody builds a DB-server body of about n series: the families the
// signals use plus filler families named after real ArangoDB metrics,
// each with role and shortname labels as 3.12 prints them.
func benchBody(n int) []byte {
	var b strings.Builder
	lbl := `{role="DBSERVER",shortname="DBServer0001"}`
	scalar := func(name, typ string, v float64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s%s %g\n\n", name, name, name, typ, name, lbl, v)
	}
	scalar(mRequests, "counter", 123456)
	scalar(mQueue, "gauge", 3)
	scalar(mFreeDisk, "gauge", 2e10)
	scalar(mTotalDisk, "gauge", 1e11)
	scalar(mRSS, "gauge", 1.7e8)
	scalar(mPhysMem, "gauge", 2e10)
	scalar(mUserTime, "gauge", 2.68)
	scalar(mSystemTime, "gauge", 14.92)
	scalar(mCPUCores, "gauge", 8)
	scalar(mShards, "gauge", 120)
	fmt.Fprintf(&b, "# HELP %s request time\n# TYPE %s histogram\n", mRequestTime, mRequestTime)
	les := []string{"0.01", "0.05", "0.1", "0.2", "0.5", "1.0", "5.0", "15.0", "30.0", "+Inf"}
	for i, le := range les {
		fmt.Fprintf(&b, "%s_bucket{role=\"DBSERVER\",shortname=\"DBServer0001\",le=%q} %d\n", mRequestTime, le, 1000*(i+1))
	}
	fmt.Fprintf(&b, "%s_count%s %d\n%s_sum%s 12.5\n\n", mRequestTime, lbl, 10000, mRequestTime, lbl)
	series := 10 + 12
	// Filler: per-collection/shard style gauges and counters with real
	// family names, the bulk of a large DB server's body.
	fillers := []string{"arangodb_agency_cache_callback_number", "rocksdb_estimate_table_readers_mem", "arangodb_aql_all_query_total", "rocksdb_free_inodes"}
	for i := 0; series < n; i++ {
		name := fmt.Sprintf("%s_%d", fillers[i%len(fillers)], i/len(fillers))
		typ := "gauge"
		if strings.HasSuffix(fillers[i%len(fillers)], "_total") {
			typ = "counter"
		}
		fmt.Fprintf(&b, "# HELP %s filler\n# TYPE %s %s\n", name, name, typ)
		for j := 0; j < 10 && series < n; j++ {
			fmt.Fprintf(&b, "%s{role=\"DBSERVER\",shortname=\"DBServer0001\",database=\"db%d\"} %d\n", name, j, i*j)
			series++
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

func BenchmarkParseDerive3000(b *testing.B) {
	body := benchBody(3000)
	clk := clock.NewVirtual(t0)
	a := NewArangoDB(nil, "http://x", clk, ArangoDBOptions{})
	srv := Server{ID: "PRMR-1", Role: "DBSERVER"}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		s, err := parseArangoMetrics(body)
		if err != nil {
			b.Fatal(err)
		}
		a.derive(srv, s, clk.Advance(time.Second))
	}
}

// BenchmarkScrapeParseSmall is one scrape of a body that holds only the
// signals' families (the emulator's, and the bulk of the work once
// selectFamilies has cut a real one down), with the scratch state reused
// as Scrape does.
func BenchmarkScrapeParseSmall(b *testing.B) {
	body := benchBody(0)
	var ps textScratch
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ps.parse(body); err != nil {
			b.Fatal(err)
		}
	}
}
