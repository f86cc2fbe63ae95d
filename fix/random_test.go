package fix

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/ypath"
)

var randomN = flag.Int("random", 100, "number of random manifests TestRandomManifests checks")

// TestRandomManifests writes random Pod manifests in random but valid
// layouts and checks that the usual hardening fixes always lower, and
// that the result parses, holds, changes nothing else and is idempotent.
func TestRandomManifests(t *testing.T) {
	n := *randomN
	if testing.Short() {
		n = min(n, 20)
	}
	ps := []Patch{
		Set(mustPath(t, "spec.securityContext.runAsNonRoot"), true),
		Set(mustPath(t, "spec.securityContext.seccompProfile.type"), "RuntimeDefault"),
		EnsureItem(mustPath(t, "spec.containers[name=web].securityContext.capabilities.drop"), "ALL"),
		Set(mustPath(t, "spec.containers[name=web].securityContext.allowPrivilegeEscalation"), false),
		Set(mustPath(t, "spec.containers[name=web].securityContext.runAsUser"), 1000),
		Delete(mustPath(t, "spec.containers[name=web].securityContext.privileged")),
		Delete(mustPath(t, "spec.containers[name=side].securityContext.capabilities.add[=NET_ADMIN]")),
		Set(mustPath(t, "spec.automountServiceAccountToken"), false),
		Delete(mustPath(t, "spec.hostNetwork")),
		Set(mustPath(t, "metadata.labels.tier"), "1000"),
	}
	for seed := range uint64(n) {
		g := &gen{r: rand.New(rand.NewPCG(seed, 7))}
		src, doc, objPath := g.file()
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			check := func(ps []Patch) {
				docs, ok := tryParse(src)
				if !ok {
					t.Fatalf("generated YAML does not parse:\n%s", src)
				}
				obj := ypath.Walk(docs[doc], objPath).Value
				if _, err := LowerAll(src, obj, ps); err != nil {
					t.Fatalf("%v: %v\non\n%s", ps, err, src)
				}
				fuzzObject(t, src, doc, objPath, ps)
			}
			for _, p := range ps {
				check([]Patch{p})
			}
			check(ps)
		})
	}
}

// gen writes random manifests.
type gen struct {
	r     *rand.Rand
	step  int
	flush bool
	seqIn int
	b     strings.Builder
}

func (g *gen) coin(p float64) bool { return g.r.Float64() < p }

func (g *gen) pick(s ...string) string { return s[g.r.IntN(len(s))] }

// node is a value to write: a scalar (its text as written), a mapping or
// a list.
type node struct {
	text  string
	keys  []string
	vals  []*node
	items []*node
	isMap bool
	flow  bool
	block string // a literal block scalar's body
}

func scalarN(text string) *node { return &node{text: text} }

func (g *gen) mapN(kv ...any) *node {
	n := &node{isMap: true}
	for i := 0; i+1 < len(kv); i += 2 {
		if v := kv[i+1].(*node); v != nil {
			n.keys = append(n.keys, kv[i].(string))
			n.vals = append(n.vals, v)
		}
	}
	n.flow = len(n.keys) <= 2 && g.coin(0.15)
	return n
}

func (g *gen) listN(items ...*node) *node {
	n := &node{items: items}
	scalars := true
	for _, i := range items {
		scalars = scalars && !i.isMap && i.items == nil
	}
	n.flow = scalars && g.coin(0.3)
	return n
}

func (g *gen) maybe(p float64, n *node) *node {
	if g.coin(p) {
		return n
	}
	return nil
}

func (g *gen) str(s string) *node {
	switch g.r.IntN(5) {
	case 0:
		return scalarN(`"` + s + `"`)
	case 1:
		return scalarN(`'` + s + `'`)
	}
	return scalarN(s)
}

func (g *gen) container(name string) *node {
	var sc *node
	switch g.r.IntN(4) {
	case 0:
		sc = &node{isMap: true, flow: true} // {}
	case 1, 2:
		caps := g.maybe(0.6, g.mapN(
			"drop", g.maybe(0.5, g.listN(g.str("NET_RAW"))),
			"add", g.maybe(0.5, g.listN(scalarN("NET_ADMIN"), scalarN("CHOWN")))))
		if caps != nil && len(caps.keys) == 0 {
			caps = nil
		}
		sc = g.mapN(
			"privileged", g.maybe(0.5, scalarN(g.pick("true", "false", "True"))),
			"runAsUser", g.maybe(0.5, scalarN(g.pick("0", "&uid 0", "!!int 0", "'0'"))),
			"capabilities", caps,
			"readOnlyRootFilesystem", g.maybe(0.3, scalarN("true")))
		if len(sc.keys) == 0 {
			sc = nil
		}
	}
	var ports *node
	if g.coin(0.4) {
		ports = g.listN(g.mapN("containerPort", scalarN("80"), "name", scalarN("http")))
	}
	return g.mapN("name", g.str(name), "image", g.str("nginx:1.27"),
		"args", g.maybe(0.3, g.listN(scalarN("--port"), g.str("8080"))),
		"ports", ports, "securityContext", sc)
}

func (g *gen) pod() *node {
	var cmd *node
	if g.coin(0.3) {
		cmd = &node{block: "echo hi\n\necho bye\n"}
	}
	var psc *node
	switch g.r.IntN(3) {
	case 0:
		psc = g.mapN("fsGroup", scalarN("2000"))
	case 1:
		psc = scalarN(g.pick("", "~", "null"))
	}
	containers := []*node{g.container("web"), g.container("side")}
	if g.coin(0.3) {
		containers[0], containers[len(containers)-1] = containers[len(containers)-1], containers[0]
	}
	var labels *node
	if g.coin(0.6) {
		labels = g.mapN("app", g.str("web"))
	}
	return g.mapN("apiVersion", scalarN("v1"), "kind", scalarN("Pod"),
		"metadata", g.mapN("name", scalarN("p"), "labels", labels, "annotations", g.maybe(0.3, g.mapN("note", cmd, "long", scalarN("two\nlines")))),
		"spec", g.mapN("hostNetwork", g.maybe(0.3, scalarN("true")), "securityContext", psc,
			"containers", g.listN(containers...),
			"automountServiceAccountToken", g.maybe(0.4, scalarN("true"))))
}

// file returns a stream of documents, which one holds the object, and the
// object's path in it.
func (g *gen) file() ([]byte, int, ypath.Path) {
	g.step = 2 + 2*g.r.IntN(2)
	g.flush = g.coin(0.5)
	g.seqIn = g.step
	if g.coin(0.3) {
		g.seqIn = 2
	}
	if g.coin(0.3) {
		g.b.WriteString("# header comment\n")
	}
	doc, nDocs := 0, 1+g.r.IntN(3)
	var objPath ypath.Path
	for d := range nDocs {
		if d > 0 || g.coin(0.3) {
			g.b.WriteString("---\n")
		}
		if d == nDocs-1 {
			doc = d
			if g.coin(0.2) {
				list := g.mapN("apiVersion", scalarN("v1"), "kind", scalarN("List"),
					"items", &node{items: []*node{g.pod(), g.pod()}})
				list.flow = false
				g.writeMap(list, 0)
				objPath = ypath.Path{"items", "[1]"}
				continue
			}
			p := g.pod()
			p.flow = false
			g.writeMap(p, 0)
			continue
		}
		g.writeMap(g.mapN("apiVersion", scalarN("v1"), "kind", scalarN("ConfigMap"), "data", g.mapN("a", g.str("b"))), 0)
		if g.coin(0.3) {
			g.b.WriteString("...\n")
		}
	}
	src := []byte(g.b.String())
	if g.coin(0.2) {
		src = bytes.ReplaceAll(src, []byte("\n"), []byte("\r\n"))
	}
	if g.coin(0.2) {
		src = bytes.TrimRight(src, "\r\n")
	}
	return src, doc, objPath
}

func (g *gen) line(indent int, s string) {
	g.b.WriteString(strings.Repeat(" ", indent) + s)
	if g.coin(0.15) {
		g.b.WriteString(" # " + g.pick("note", "é ü", "日本"))
	}
	if g.coin(0.05) {
		g.b.WriteString("  ")
	}
	g.b.WriteString("\n")
	if g.coin(0.08) {
		g.b.WriteString("\n")
	}
	if g.coin(0.05) {
		g.b.WriteString(strings.Repeat(" ", indent+g.r.IntN(6)) + "# stray\n")
	}
}

func (g *gen) above(indent int) {
	if g.coin(0.1) {
		g.b.WriteString(strings.Repeat(" ", indent) + "# above\n")
	}
}

func flowOf(n *node) string {
	switch {
	case n.isMap:
		parts := make([]string, len(n.keys))
		for i, k := range n.keys {
			parts[i] = k + ": " + flowOf(n.vals[i])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case n.items != nil:
		parts := make([]string, len(n.items))
		for i, c := range n.items {
			parts[i] = flowOf(c)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return n.text
}

// writeMap writes the block mapping n with its keys at column indent; the
// first key is written by the caller's prefix when first is set.
func (g *gen) writeMap(n *node, indent int) {
	g.writeEntries(n, indent, "")
}

func (g *gen) writeEntries(n *node, indent int, firstPrefix string) {
	for i, k := range n.keys {
		v := n.vals[i]
		prefix := strings.Repeat(" ", indent)
		if i == 0 && firstPrefix != "" {
			prefix = firstPrefix
		} else {
			g.above(indent)
		}
		switch {
		case v.block != "":
			g.b.WriteString(prefix + k + ": |\n")
			for _, l := range strings.Split(strings.TrimSuffix(v.block, "\n"), "\n") {
				if l != "" {
					l = strings.Repeat(" ", indent+g.step) + l
				}
				g.b.WriteString(l + "\n")
			}
		case v.flow || !v.isMap && v.items == nil || v.isMap && len(v.keys) == 0 || !v.isMap && len(v.items) == 0:
			text := flowOf(v)
			if text == "" {
				g.b.WriteString(prefix + k + ":")
				g.b.WriteString("\n")
				continue
			}
			g.b.WriteString(prefix)
			g.line(0, k+": "+strings.ReplaceAll(text, "\n", "\n"+strings.Repeat(" ", indent+g.step)))
		case v.isMap:
			g.b.WriteString(prefix)
			g.line(0, k+":")
			g.writeEntries(v, indent+g.step, "")
		default:
			g.b.WriteString(prefix)
			g.line(0, k+":")
			dash := indent
			if !g.flush {
				dash += g.seqIn
			}
			for _, it := range v.items {
				g.above(dash)
				if it.isMap && !it.flow && len(it.keys) > 0 {
					if g.coin(0.1) {
						g.b.WriteString(strings.Repeat(" ", dash) + "-\n")
						g.writeEntries(it, dash+2, "")
						continue
					}
					g.writeEntries(it, dash+2, strings.Repeat(" ", dash)+"- ")
					continue
				}
				g.line(dash, "- "+flowOf(it))
			}
		}
	}
}
