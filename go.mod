module github.com/arangoscale/arangoscale

go 1.26.8
