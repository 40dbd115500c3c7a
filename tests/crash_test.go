package tests

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/diskcache-go/diskcache-go/core"
)

func init() {
	workers["writer"] = writer
}

// payload is a value that names its key and sequence number, so a torn or
// misplaced value is detected.
func payload(key string, seq int) []byte {
	n := (seq * 7919) % 3000
	return append([]byte(fmt.Sprintf("%s#%d#", key, seq)), bytes.Repeat([]byte{byte(seq)}, n)...)
}

// writer writes numbered values until it is killed, printing each sequence
// number after its write returned: the acknowledgement the parent checks.
func writer(args []string) error {
	dir := args[0]
	start, _ := strconv.Atoi(args[1])
	opts := modeOptions(args[2])
	opts.Timeout = 30 * time.Second
	c, err := core.Open(dir, &opts)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(os.Stdout)
	for seq := start; ; seq++ {
		key := fmt.Sprint("k", seq%50)
		if err := c.Set(core.Call{}, &core.SetArgs{Key: core.Text(key), Value: core.Blob(payload(key, seq)), Mode: core.ModeRaw, Now: float64(seq)}); err != nil {
			return err
		}
		if seq%5 == 0 {
			if err := c.Delete(core.Call{}, core.Text(fmt.Sprint("k", (seq+25)%50)), float64(seq)); err != nil && !errors.Is(err, core.ErrNotFound) {
				return err
			}
		}
		fmt.Fprintln(out, seq)
		out.Flush()
	}
}

// TestCrash_KillWriter kills a writer at random moments; after each kill the
// directory must open, pass Check, and hold every acknowledged write or a
// later one, never a torn value. Writers alternate between the modes, so
// each mode's recovery also repairs the others' deaths.
func TestCrash_KillWriter(t *testing.T) {
	modes := []string{"shared", "network", "sync"}
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(1))
	seq := 0
	latest := map[string]int{} // key -> last acknowledged seq
	deleted := map[string]int{}
	rounds := 30
	if testing.Short() {
		rounds = 6
	}
	for round := 0; round < rounds; round++ {
		cmd := worker(t, "writer", dir, fmt.Sprint(seq), modes[round%len(modes)])
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acks := make(chan int, 1<<16)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				n, _ := strconv.Atoi(sc.Text())
				acks <- n
			}
			close(acks)
		}()
		time.Sleep(time.Duration(5+rng.Intn(60)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		for n := range acks {
			key := fmt.Sprint("k", n%50)
			latest[key] = n
			if n%5 == 0 {
				deleted[fmt.Sprint("k", (n+25)%50)] = n
			}
			seq = n + 1
		}
		seq += 1000 // unacknowledged writes may have landed: skip their numbers
		verify(t, dir, latest, deleted)
	}
}

func verify(t *testing.T, dir string, latest, deleted map[string]int) {
	t.Helper()
	c, err := core.Open(dir, nil)
	if err != nil {
		t.Fatalf("open after kill: %v", err)
	}
	defer c.Close()
	rep, err := c.Check(core.Call{}, false)
	if err != nil || len(rep.Warnings) != 0 {
		t.Fatalf("check after kill: %v %v", rep.Warnings, err)
	}
	buf := make([]byte, 1<<16)
	for key, n := range latest {
		it, err := c.Get(core.Text(key), 1, 0, buf)
		if errors.Is(err, core.ErrNotFound) {
			if d, ok := deleted[key]; ok && d >= n {
				continue
			}
			// A delete after the last acknowledged set may have landed
			// unacknowledged; only a key never deleted must be present.
			if _, ok := deleted[key]; ok {
				continue
			}
			t.Fatalf("%s: acknowledged write %d lost", key, n)
		}
		if err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
		// "key#seq#tail": the tail is empty for some seqs (seq 0 among
		// them), so the number is cut out rather than scanned with it.
		fields := strings.SplitN(string(it.Value.Bytes), "#", 3)
		got, perr := 0, error(nil)
		if len(fields) == 3 {
			got, perr = strconv.Atoi(fields[1])
		}
		if len(fields) != 3 || fields[0] != key || perr != nil {
			t.Fatalf("%s: unparseable value", key)
		}
		if !bytes.Equal(it.Value.Bytes, payload(key, got)) {
			t.Fatalf("%s: torn value for seq %d", key, got)
		}
		if got < n {
			t.Fatalf("%s: has seq %d, acknowledged %d", key, got, n)
		}
	}
}

func init() {
	workers["halftx"] = halfTransaction
}

// halfTransaction opens a transaction, writes one key, announces it and
// waits to be killed before committing.
func halfTransaction(args []string) error {
	c, err := core.Open(args[0], nil)
	if err != nil {
		return err
	}
	const owner = 9
	if err := c.Begin(core.Call{Owner: owner}); err != nil {
		return err
	}
	if err := c.Set(core.Call{Owner: owner}, &core.SetArgs{Key: core.Text("uncommitted"), Value: core.Int(1), Mode: core.ModeRaw, Now: 1}); err != nil {
		return err
	}
	fmt.Println("ready")
	time.Sleep(time.Minute)
	return nil
}

// TestCrash_KilledInsideTransaction kills a writer between two operations
// of a transaction: a reader that was already open must stop seeing the
// uncommitted write once the writer is dead, without any writer coming by.
func TestCrash_KilledInsideTransaction(t *testing.T) {
	dir := t.TempDir()
	reader, err := core.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	cmd := worker(t, "halftx", dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "ready\n" {
		cmd.Process.Kill()
		t.Fatalf("worker said %q", line)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	buf := make([]byte, 64)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := reader.Get(core.Text("uncommitted"), 1, 0, buf)
		if errors.Is(err, core.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dead writer's uncommitted write is still visible: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	again, err := core.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if _, err := again.Get(core.Text("uncommitted"), 1, 0, buf); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("after reopen: %v", err)
	}
}
