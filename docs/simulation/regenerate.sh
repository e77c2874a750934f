#!/bin/bash
# Regenerates the tables and plots of docs/simulation/results.md, "Results as shipped":
# policies.example.yaml against the fair hpa baseline and the oracles, seed 1, counted after a
# warm-up. Run from the repository root; about 8 min of CPU (4 min 38 s wall) on 2 cores.
set -euo pipefail
go build -o /tmp/arangoscale ./cmd/arangoscale
T=../shared/traces
D=docs/simulation/shipped
mkdir -p "$D"
sim() { # name, then simulate's flags
	local n=$1
	shift
	nice /tmp/arangoscale simulate --policy policies.example.yaml --quiet \
		--baselines hpa,oracle-target,oracle,static --out "$D/$n" "$@" >"$D/$n.md"
}
# tuning traces
sim tune_nasa_jul95 --trace $T/nasa_jul95.csv --warmup 48h --duration 120h
sim tune_wc98_d36_40 --trace $T/wc98.csv --from 864h --warmup 48h --duration 72h
# check traces, counted after a 2-day warm-up
sim wc98_week_jun23 --trace $T/wc98_week_jun23.csv --warmup 48h
sim nasa_aug95 --trace $T/nasa_aug95.csv --warmup 48h --duration 120h
sim synth101 --trace 'synth:mixed?seed=101&days=3' --warmup 48h
sim synth102 --trace 'synth:diurnal+noise?seed=102&days=3' --warmup 48h
sim synth103 --trace 'synth:flash+noise?seed=103&days=3' --warmup 48h
sim synth104 --trace 'synth:step+drift+noise?seed=104&days=3' --warmup 48h
# cold start: the first day, nothing learned
sim cold_wc98_week_jun23 --trace $T/wc98_week_jun23.csv --duration 24h
sim cold_nasa_aug95 --trace $T/nasa_aug95.csv --duration 24h
# cost–overload curves (the policy's slo max_utilization moves with the target)
for tr in wc98_week_jun23 nasa_aug95; do
	nice /tmp/arangoscale simulate --policy policies.example.yaml --quiet --baselines hpa,oracle-target \
		--trace $T/$tr.csv --from 48h --warmup 6h --duration 24h \
		--sweep target=0.55,0.65,0.75,0.85 --out "$D/sweep-$tr" >"$D/sweep-$tr.md"
done
