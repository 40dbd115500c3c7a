module github.com/diskcache-go/diskcache-go

go 1.22

require github.com/cespare/xxhash/v2 v2.3.0

require github.com/pierrec/lz4/v4 v4.1.33
