module github.com/diskcache-go/diskcache-go

go 1.22

require github.com/cespare/xxhash/v2 v2.3.0

require (
	github.com/gofrs/flock v0.12.1
	github.com/pierrec/lz4/v4 v4.1.33
	golang.org/x/sys v0.30.0
)
