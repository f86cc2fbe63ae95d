package fix

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/golden"
	"github.com/kubeharden/kubeharden/internal/ypath"
)

// The golden cases are txtar archives in testdata. The comment describes
// the case and holds directives, one a line:
//
//	lines: -R +A   the unified diff removes R lines and adds A (required)
//	crlf           the input's line breaks are CRLF (stored as LF)
//
// and the sections are input.yaml; patches, one a line:
//
//	object DOC [PATH]  the object is document DOC (from 0), or the node at
//	                   PATH in it (e.g. items[1]); default: document 0
//	set PATH VALUE     VALUE is YAML: true, 1000, "1000", {type: x}, [a]
//	ensure PATH ITEM        (ITEM in braces is a mapping: {path: p.yaml})
//	delete PATH
//
// and either want.yaml (regenerated with -update) or error, a substring of
// the expected error.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			runGolden(t, file)
		})
	}
}

type goldenCase struct {
	src       []byte
	doc       int
	objPath   ypath.Path
	patches   []Patch
	crlf      bool
	rm, add   int
	haveLines bool
	wantErr   string
	hasErr    bool
}

func loadCase(t *testing.T, ar *txtar) goldenCase {
	t.Helper()
	var c goldenCase
	for _, line := range strings.Split(ar.comment, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case len(f) == 1 && f[0] == "crlf":
			c.crlf = true
		case f[0] == "lines:" && len(f) == 3:
			rm, err1 := strconv.Atoi(strings.TrimPrefix(f[1], "-"))
			add, err2 := strconv.Atoi(strings.TrimPrefix(f[2], "+"))
			if err1 != nil || err2 != nil {
				t.Fatalf("bad directive %q", line)
			}
			c.rm, c.add, c.haveLines = rm, add, true
		case f[0] == "lines:":
			t.Fatalf("bad directive %q", line)
		}
	}
	in, ok := ar.get("input.yaml")
	if !ok {
		t.Fatal("no input.yaml")
	}
	c.src = []byte(in)
	if c.crlf {
		c.src = bytes.ReplaceAll(c.src, []byte("\n"), []byte("\r\n"))
	}
	ps, _ := ar.get("patches")
	for _, line := range strings.Split(ps, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		op, rest, _ := strings.Cut(line, " ")
		ptext, arg, _ := strings.Cut(strings.TrimSpace(rest), " ")
		if op == "object" {
			d, err := strconv.Atoi(ptext)
			if err != nil {
				t.Fatalf("bad object line %q", line)
			}
			c.doc = d
			if arg != "" {
				if c.objPath, err = ypath.Parse(arg); err != nil {
					t.Fatal(err)
				}
			}
			continue
		}
		path, err := ypath.Parse(ptext)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		switch op {
		case "set":
			var v any
			if err := yaml.Unmarshal([]byte(arg), &v); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			c.patches = append(c.patches, Set(path, v))
		case "ensure":
			var item any = arg
			if strings.HasPrefix(arg, "{") {
				var m map[string]any
				if err := yaml.Unmarshal([]byte(arg), &m); err != nil {
					t.Fatalf("%q: %v", line, err)
				}
				item = m
			}
			c.patches = append(c.patches, EnsureItem(path, item))
		case "delete":
			c.patches = append(c.patches, Delete(path))
		default:
			t.Fatalf("unknown patch %q", line)
		}
	}
	c.wantErr, c.hasErr = ar.get("error")
	c.wantErr = strings.TrimSpace(c.wantErr)
	return c
}

// findObject parses src and returns the object node the case names.
func findObject(t *testing.T, src []byte, doc int, p ypath.Path) *yaml.Node {
	t.Helper()
	docs := parseDocs(t, src)
	if doc >= len(docs) {
		t.Fatalf("no document %d (have %d)", doc, len(docs))
	}
	m := ypath.Walk(docs[doc], p)
	if m.Depth != len(p) {
		t.Fatalf("no object at %s in document %d", p, doc)
	}
	return m.Value
}

func parseDocs(t *testing.T, src []byte) []*yaml.Node {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("parse: %v\n%s", err, src)
		}
		docs = append(docs, &n)
	}
}

func runGolden(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ar := parseTxtar(data)
	c := loadCase(t, ar)
	obj := findObject(t, c.src, c.doc, c.objPath)
	edits, err := LowerAll(c.src, obj, c.patches)
	if c.hasErr {
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Fatalf("error = %v, want one containing %q", err, c.wantErr)
		}
		return
	}
	if err != nil {
		t.Fatalf("LowerAll: %v", err)
	}
	out, err := Apply(c.src, edits)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}

	// Golden output.
	got := out
	if c.crlf {
		if i := bytes.IndexByte(bytes.ReplaceAll(out, []byte("\r\n"), nil), '\n'); i >= 0 {
			t.Errorf("CRLF file got a bare LF:\n%q", out)
		}
		got = bytes.ReplaceAll(out, []byte("\r\n"), []byte("\n"))
	}
	if golden.Update() {
		ar.set("want.yaml", string(got))
		if err := os.WriteFile(file, ar.format(), 0o644); err != nil {
			t.Fatal(err)
		}
	} else if want, ok := ar.get("want.yaml"); !ok {
		t.Errorf("no want.yaml; run with -update")
	} else if string(got) != want {
		t.Errorf("result differs from want.yaml:\n%s", Diff("want.yaml", []byte(want), got))
	}

	// Minimal: the diff touches exactly the expected number of lines.
	rm, add := diffCounts(Diff("input.yaml", c.src, out))
	if !c.haveLines {
		t.Errorf("no lines: directive; the diff has lines: -%d +%d", rm, add)
	} else if rm != c.rm || add != c.add {
		t.Errorf("diff has lines: -%d +%d, want -%d +%d:\n%s", rm, add, c.rm, c.add, Diff("input.yaml", c.src, out))
	}

	// Valid and effective: the result parses and every patch holds.
	obj2 := findObject(t, out, c.doc, c.objPath)
	for _, p := range c.patches {
		checkHolds(t, obj2, p)
	}

	// Idempotent: lowering again on the result changes nothing.
	again, err := LowerAll(out, obj2, c.patches)
	if err != nil || len(again) != 0 {
		t.Errorf("second run: %d edits, error %v: %v", len(again), err, again)
	}
	for _, p := range c.patches { // each patch alone, too
		if e, err := Lower(out, obj2, p); err != nil || len(e) != 0 {
			t.Errorf("second run of %s: %v, error %v", p, e, err)
		}
	}

	// Deterministic: a second lowering gives the same edits.
	edits2, err := LowerAll(c.src, findObject(t, c.src, c.doc, c.objPath), c.patches)
	if err != nil || !reflect.DeepEqual(edits, edits2) {
		t.Errorf("second lowering differs: %v vs %v (%v)", edits, edits2, err)
	}

	// Nothing else changed: every document decodes to the same values,
	// except the patched fields (and parents they create or empty).
	before, after := decodeAll(t, c.src), decodeAll(t, out)
	if len(before) != len(after) {
		t.Fatalf("%d documents became %d", len(before), len(after))
	}
	for i := range before {
		if i == c.doc {
			before[i] = dropPatched(before[i], c.objPath, c.patches)
			after[i] = dropPatched(after[i], c.objPath, c.patches)
		}
		if !reflect.DeepEqual(before[i], after[i]) {
			t.Errorf("document %d changed beyond the patched fields:\nbefore %#v\nafter  %#v", i, before[i], after[i])
		}
	}
}

// diffCounts counts removed and added lines of a unified diff.
func diffCounts(d string) (rm, add int) {
	for _, l := range strings.Split(d, "\n") {
		switch {
		case strings.HasPrefix(l, "---"), strings.HasPrefix(l, "+++"):
		case strings.HasPrefix(l, "-"):
			rm++
		case strings.HasPrefix(l, "+"):
			add++
		}
	}
	return rm, add
}

// checkHolds checks a patch on the re-parsed object with plain decoding,
// independently of the package's own equality.
func checkHolds(t *testing.T, obj *yaml.Node, p Patch) {
	t.Helper()
	m := ypath.Walk(obj, p.Path)
	found := m.Depth == len(p.Path)
	switch p.Op {
	case OpSet:
		var got, want any
		if !found {
			t.Errorf("%s: field absent after the fix", p)
			return
		}
		if err := m.Value.Decode(&got); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		if err := p.Value.Decode(&want); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: field is %#v after the fix", p, got)
		}
	case OpEnsureItem:
		var got []any
		if !found {
			t.Errorf("%s: list absent after the fix", p)
			return
		}
		var item any
		if err := p.Value.Decode(&item); err != nil {
			t.Fatal(err)
		}
		if err := m.Value.Decode(&got); err != nil || !slices.ContainsFunc(got, func(x any) bool { return reflect.DeepEqual(x, item) }) {
			t.Errorf("%s: list is %v after the fix (%v)", p, got, err)
		}
	case OpDelete:
		if found {
			t.Errorf("%s: field still present after the fix", p)
		}
	}
}

func decodeAll(t *testing.T, src []byte) []any {
	t.Helper()
	var out []any
	for _, d := range parseDocs(t, src) {
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("decode: %v", err)
		}
		out = append(out, v)
	}
	return out
}

// dropPatched removes from the decoded document what the patches may
// change: the object's patched fields (ensured items only), then parents
// on their paths left empty or null.
func dropPatched(doc any, objPath ypath.Path, ps []Patch) any {
	for _, p := range ps {
		full := objPath.Append(p.Path...)
		var item any
		if p.Op == OpEnsureItem {
			if err := p.Value.Decode(&item); err != nil {
				panic(err)
			}
		}
		doc, _ = dropPath(doc, full, item)
	}
	return doc
}

// dropPath returns v without path; gone reports that v itself should go
// (it is the dropped leaf, or it became empty or is null).
func dropPath(v any, path ypath.Path, item any) (_ any, gone bool) {
	if len(path) == 0 {
		if item == nil {
			return nil, true
		}
		l, ok := v.([]any)
		if !ok {
			return v, v == nil
		}
		l = slices.DeleteFunc(slices.Clone(l), func(x any) bool { return fmt.Sprint(x) == fmt.Sprint(item) })
		return l, len(l) == 0
	}
	seg := path[0]
	switch x := v.(type) {
	case map[string]any:
		if c, ok := x[seg]; ok && !ypath.IsSelector(seg) {
			nv, gone := dropPath(c, path[1:], item)
			x[seg] = nv
			if gone {
				delete(x, seg)
			}
		}
		return x, len(x) == 0
	case []any:
		if !ypath.IsSelector(seg) {
			return x, false
		}
		out := []any{}
		for i, e := range x {
			if selects(e, i, seg) {
				if len(path) == 1 && item == nil {
					continue
				}
				e, _ = dropPath(e, path[1:], item)
			}
			out = append(out, e)
		}
		return out, len(out) == 0
	}
	return v, v == nil
}

func selects(e any, i int, seg string) bool {
	sel := seg[1 : len(seg)-1]
	k, want, kv := strings.Cut(sel, "=")
	if !kv {
		return strconv.Itoa(i) == sel
	}
	if k == "" {
		return fmt.Sprint(e) == want
	}
	m, ok := e.(map[string]any)
	return ok && m[k] != nil && fmt.Sprint(m[k]) == want
}

// txtar is a minimal reader and writer of the txtar format (comment, then
// "-- name --" sections), kept here because fix may import only the
// standard library, yaml and go-diff.
type txtar struct {
	comment string
	names   []string
	data    []string
}

func parseTxtar(b []byte) *txtar {
	a := &txtar{}
	cur := -1
	var buf strings.Builder
	flush := func() {
		if cur < 0 {
			a.comment = buf.String()
		} else {
			a.data[cur] = buf.String()
		}
		buf.Reset()
	}
	for _, line := range strings.SplitAfter(string(b), "\n") {
		trim := strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(trim, "-- ") && strings.HasSuffix(trim, " --") && len(trim) >= 6 {
			flush()
			a.names = append(a.names, strings.TrimSpace(trim[3:len(trim)-3]))
			a.data = append(a.data, "")
			cur = len(a.names) - 1
			continue
		}
		buf.WriteString(line)
	}
	flush()
	return a
}

func (a *txtar) get(name string) (string, bool) {
	if i := slices.Index(a.names, name); i >= 0 {
		return a.data[i], true
	}
	return "", false
}

func (a *txtar) set(name, data string) {
	if i := slices.Index(a.names, name); i >= 0 {
		a.data[i] = data
		return
	}
	a.names = append(a.names, name)
	a.data = append(a.data, data)
}

func (a *txtar) format() []byte {
	var b strings.Builder
	b.WriteString(a.comment)
	for i, n := range a.names {
		b.WriteString("-- " + n + " --\n")
		b.WriteString(a.data[i])
		if a.data[i] != "" && !strings.HasSuffix(a.data[i], "\n") {
			// txtar cannot hold a section without a final newline; the
			// cases that need one build it in code.
			b.WriteString("\n")
		}
	}
	return []byte(b.String())
}
