package core_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/diskcache-go/diskcache-go/core"
)

func TestCompress_RoundTripAndSharedWithPlainReaders(t *testing.T) {
	dir := t.TempDir()
	w, err := core.Open(dir, &core.Options{CompressAbove: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := core.Open(dir, nil) // no compression of its own
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	text := bytes.Repeat([]byte(`{"user": 12345, "name": "ada", "tags": ["a", "b"]} `), 200)
	noise := make([]byte, 5000)
	rand.Read(noise)
	values := map[string][]byte{"text": text, "noise": noise, "small": []byte("tiny")}
	for k, v := range values {
		if err := w.Set(core.Call{}, &core.SetArgs{Key: core.Text(k), Value: core.Blob(v), Mode: core.ModeRaw, Now: 1}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*core.Cache{w, r} {
		for k, v := range values {
			got, ok := get(t, c, k, 1)
			if !ok || got != string(v) {
				t.Fatalf("%s: got %d bytes, want %d", k, len(got), len(v))
			}
		}
		// A buffer that holds the stored (compressed) bytes but not the
		// value asks for the value's size.
		if it, err := c.Get(core.Text("text"), 1, 0, make([]byte, 600)); !errors.Is(err, core.ErrShortBuffer) || it.Need < len(text) {
			t.Fatalf("short buffer: %v, need %d", err, it.Need)
		}
	}
	vol, err := w.Volume()
	if err != nil {
		t.Fatal(err)
	}
	if vol > 4096+int64(len(noise))+2000 {
		t.Fatalf("volume %d: the text was not stored compressed", vol)
	}
	if rep, err := w.Check(core.Call{}, false); err != nil || len(rep.Warnings) > 0 {
		t.Fatalf("check: %v %v", rep.Warnings, err)
	}
}
