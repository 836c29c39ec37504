package slotq_test

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"libslotq.dev/slotq"
)

func keyHex(c *slotq.Call) string { return hex.EncodeToString([]byte(slotq.GetSlotQueueKey(c))) }

func TestKeyOfEmptyCall(t *testing.T) {
	if got, want := keyHex(&slotq.Call{}), "bb7a95e878c088a5ae0cb80872a702214a890908"; got != want {
		t.Fatalf("key of the empty call = %s, want %s", got, want)
	}
	if n := len(slotq.GetSlotQueueKey(&slotq.Call{})); n != slotq.KeySize {
		t.Fatalf("key length %d, want %d", n, slotq.KeySize)
	}
}

func TestKeyEmptyConfigIsNilConfig(t *testing.T) {
	a := &slotq.Call{AppName: "a", Path: "/p", Image: "img", Timeout: 30, IdleTimeout: 30, Memory: 128, Format: "http"}
	b := *a
	b.Config = map[string]string{}
	if keyHex(a) != keyHex(&b) {
		t.Fatal("nil and empty Config give different keys")
	}
	b.Config = map[string]string{"K": "v"}
	if keyHex(a) == keyHex(&b) {
		t.Fatal("a config entry does not change the key")
	}
}

func TestKeyManyConfigEntries(t *testing.T) {
	// More entries than the shim keeps on its stack.
	c := &slotq.Call{AppName: "a", Config: map[string]string{}}
	for i := 0; i < 100; i++ {
		c.Config[string(rune('A'+i%26))+string(rune('a'+i/26))] = "v"
	}
	k1 := keyHex(c)
	for i := 0; i < 10; i++ { // map order differs between iterations
		if k := keyHex(c); k != k1 {
			t.Fatalf("key changed between calls: %s then %s", k1, k)
		}
	}
}

// vectorsPath is the seed's key vectors: ../shared from the project's root,
// or $SLOTQ_KEY_VECTORS.
func vectorsPath() string {
	if p := os.Getenv("SLOTQ_KEY_VECTORS"); p != "" {
		return p
	}
	return filepath.Join("..", "..", "..", "shared", "vectors", "slot_keys.jsonl")
}

func TestKeyVectors(t *testing.T) {
	path := vectorsPath()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("key vectors %s not found (they come with ../shared, in CI and developer checkouts): skipping", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type vector struct {
		AppName     string            `json:"app_name"`
		Path        string            `json:"path"`
		Image       string            `json:"image"`
		Timeout     int32             `json:"timeout"`
		IdleTimeout int32             `json:"idle_timeout"`
		Memory      uint64            `json:"memory"`
		Format      string            `json:"format"`
		Config      map[string]string `json:"config"`
		Key         string            `json:"key_sha1_hex"`
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		var v vector
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		c := &slotq.Call{AppName: v.AppName, Path: v.Path, Image: v.Image, Timeout: v.Timeout,
			IdleTimeout: v.IdleTimeout, Memory: v.Memory, Format: v.Format, Config: v.Config}
		if got := keyHex(c); got != v.Key {
			t.Errorf("%s:%d: key %s, want %s", path, n, got, v.Key)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("%s has no vectors", path)
	}
	t.Logf("%d vectors checked", n)
}
