package core_test

import (
	"fmt"
	"os"

	"github.com/diskcache-go/diskcache-go/core"
)

func Example() {
	dir, _ := os.MkdirTemp("", "core-example-")
	defer os.RemoveAll(dir)
	c, err := core.Open(dir, nil)
	if err != nil {
		panic(err)
	}
	defer c.Close()

	const now = 1700000000.0
	// Store a value that expires in a minute, tagged "demo".
	err = c.Set(core.Call{}, &core.SetArgs{
		Key: core.Text("greeting"), Value: core.Text("hello"), Mode: core.ModeRaw,
		Tag: core.Text("demo"), HasTag: true, Expire: now + 60, HasExpire: true, Now: now,
	})
	if err != nil {
		panic(err)
	}
	buf := make([]byte, 4096)
	it, err := c.Get(core.Text("greeting"), now, 0, buf)
	fmt.Println(string(it.Value.Bytes), string(it.Tag.Bytes), err)

	// Counters are atomic across processes.
	n, _ := c.Incr(core.Call{}, core.Text("hits"), core.Int(1), core.Int(0), true, now)
	fmt.Println(le(n.Bytes))

	// After the expiry time the key is gone.
	_, err = c.Get(core.Text("greeting"), now+61, 0, buf)
	fmt.Println(err)
	// Output:
	// hello demo <nil>
	// 1
	// diskcache: key not found
}

func le(b []byte) int64 {
	var v int64
	for i := 7; i >= 0; i-- {
		v = v<<8 | int64(b[i])
	}
	return v
}
