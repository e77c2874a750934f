package policy

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadForecast(t *testing.T) {
	const head = `clusters:
  - name: prod
    arangodb: {endpoints: [http://c:8529]}
    marathon: {coordinators: /a/c}
    roles:
      coordinators:
        min: 2
        max: 8
        metrics: [{signal: cpu_utilization, target: 0.65}]
`
	tests := []struct {
		name, block string
		want        *ForecastPolicy
	}{
		{name: "defaults", block: "        forecast: {}\n",
			want: &ForecastPolicy{Mode: ForecastOnly, Season: SeasonDaily, History: 7 * 24 * time.Hour, Lead: 10 * time.Minute, MaxError: 0.25}},
		{name: "weekly default history", block: "        forecast: {season: weekly, mode: forecast_and_scale}\n",
			want: &ForecastPolicy{Mode: ForecastAndScale, Season: SeasonWeekly, History: 21 * 24 * time.Hour, Lead: 10 * time.Minute, MaxError: 0.25}},
		{name: "every key", block: "        forecast:\n          mode: forecast_and_scale\n          season: weekly\n          history: 2w\n          lead: 20m\n          max_error: 0.4\n          promql: 'sum(rate(x[5m]))'\n",
			want: &ForecastPolicy{Mode: ForecastAndScale, Season: SeasonWeekly, History: 14 * 24 * time.Hour, Lead: 20 * time.Minute, MaxError: 0.4, PromQL: "sum(rate(x[5m]))"}},
		{name: "hours", block: "        forecast: {history: 60h}\n",
			want: &ForecastPolicy{Mode: ForecastOnly, Season: SeasonDaily, History: 60 * time.Hour, Lead: 10 * time.Minute, MaxError: 0.25}},
		{name: "none", block: "", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load("p.yaml", []byte(head+tt.block))
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.Clusters[0].Roles[Coordinators].Forecast
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("forecast = %+v, want %+v", got, tt.want)
			}
			// The effective policy shows it and loads to the same.
			eff, err := cfg.Effective()
			if err != nil {
				t.Fatal(err)
			}
			if (tt.want != nil) != strings.Contains(string(eff), "forecast:") {
				t.Fatalf("effective policy:\n%s", eff)
			}
			again, err := Load("eff.yaml", eff)
			if err != nil {
				t.Fatalf("%v\n%s", err, eff)
			}
			if got2 := again.Clusters[0].Roles[Coordinators].Forecast; !reflect.DeepEqual(got2, tt.want) {
				t.Fatalf("after the round trip: %+v, want %+v", got2, tt.want)
			}
		})
	}
}
