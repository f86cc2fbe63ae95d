package driver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestRenderAllReportsProgress: renderAll reports (0, n), then each
// finished target once, in increasing order, ending with (n, n).
func TestRenderAllReportsProgress(t *testing.T) {
	dir := t.TempDir()
	for i := range 5 {
		doc := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c%d\n", i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("c%d.yaml", i)), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := Open(context.Background(), dir, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var calls []string
	r.progress = func(done, total int) { calls = append(calls, fmt.Sprintf("%d/%d", done, total)) }
	ts, _, err := r.targets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 5 {
		t.Fatalf("%d targets, want 5", len(ts))
	}
	r.renderAll(context.Background(), ts)
	if want := []string{"0/5", "1/5", "2/5", "3/5", "4/5", "5/5"}; !slices.Equal(calls, want) {
		t.Errorf("progress calls %v, want %v", calls, want)
	}

	calls = nil
	r.renderAll(context.Background(), nil)
	if want := []string{"0/0"}; !slices.Equal(calls, want) {
		t.Errorf("progress calls for no targets %v, want %v", calls, want)
	}
}
