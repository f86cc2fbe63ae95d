package render

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"text/template/parse"

	yaml "go.yaml.in/yaml/v3"
)

// renderText renders target with a fresh renderer over dir and returns
// the objects as YAML, and the string data of Secret/rnd.
func renderText(t testing.TB, dir string, target *Target) (string, map[string]string) {
	t.Helper()
	res, err := newHelmRenderer(t, dir, Options{}).Render(context.Background(), target)
	objs := res.Objects
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	data := map[string]string{}
	for _, o := range objs {
		out, err := yaml.Marshal(o.Node)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n")
		b.Write(out)
		if helmID(o) == "Secret/rnd" {
			var s struct {
				StringData map[string]string `yaml:"stringData"`
			}
			if err := o.Node.Decode(&s); err != nil {
				t.Fatal(err)
			}
			data = s.StringData
		}
	}
	return b.String(), data
}

func rndChart() *Target { return &Target{Kind: KindHelm, Path: "charts/rnd"} }

// TestDeterministicRender: sprig's random, crypto and clock functions
// render the same bytes twice, give every call site (and every run of a
// site) its own value, and keep the formats of sprig's results.
func TestDeterministicRender(t *testing.T) {
	dir := unpackDir(t, filepath.Join("probe", "random.txtar"))
	first, d := renderText(t, dir, rndChart())
	second, _ := renderText(t, dir, rndChart())
	if first != second {
		t.Fatalf("two renders differ:\n%s\n---- and ----\n%s", first, second)
	}

	formats := map[string]string{
		"pass1":    `^[A-Za-z0-9]{16}$`,
		"piped":    `^[A-Za-z0-9]{16}$`,
		"alpha":    `^[A-Za-z]{10}$`,
		"numeric":  `^[0-9]{8}$`,
		"ascii":    `^[A-Za-z0-9+/=]{28}$`, // 20 bytes in base 64
		"bytes":    `^[A-Za-z0-9+/]{12}$`,
		"int":      `^1[0-9]$`,
		"uuid":     `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`,
		"include1": `^[A-Za-z0-9]{12}$`,
		"loop0":    `^[A-Za-z0-9]{6}$`,
		"now":      `^2024-01-01T00:00:00Z$`,
		"nowArg":   `^2024-01-01$`,
		"zoned":    `^00:00 UTC$`,
		"html":     `^2024-01-01$`,
		"epoch":    `^1704067200$`,
		"modified": `^2024-01-02$`,
		"ago":      `^24h0m0s$`,
		"keys":     `^a,b,c$`,
		"values":   `^1,2,3$`,
		"aes":      `^[A-Za-z0-9+/]{43}=$`, // IV and one block
		"htpasswd": `^admin:\$2a\$10\$[./A-Za-z0-9]{53}$`,
	}
	for k, re := range formats {
		if !regexp.MustCompile(re).MatchString(d[k]) {
			t.Errorf("%s = %q, want it to match %s", k, d[k], re)
		}
	}
	if s := d["shuffled"]; len(s) != 8 || strings.Trim(s, "abcdefgh") != "" {
		t.Errorf("shuffled = %q, want a permutation of abcdefgh", s)
	}
	for _, pair := range [][2]string{{"pass1", "pass2"}, {"pass1", "piped"}, {"include1", "include2"}, {"loop0", "loop1"}, {"loop1", "loop2"}, {"tls.key", "self.crt"}} {
		if d[pair[0]] == d[pair[1]] {
			t.Errorf("%s and %s are both %q; call sites must differ", pair[0], pair[1], d[pair[0]])
		}
	}

	// The certificates parse, the leaf is signed by the CA, the keys are
	// PEM of the types asked for.
	parse := func(k string) *x509.Certificate {
		b, _ := pem.Decode([]byte(d[k]))
		if b == nil || b.Type != "CERTIFICATE" {
			t.Fatalf("%s is not a PEM certificate: %q", k, d[k])
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		return c
	}
	ca, leaf := parse("ca.crt"), parse("tls.crt")
	if !ca.IsCA || ca.Subject.CommonName != "rnd-ca" || !ca.NotBefore.Equal(detNow) {
		t.Errorf("CA: IsCA %v, CN %q, NotBefore %v", ca.IsCA, ca.Subject.CommonName, ca.NotBefore)
	}
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		t.Errorf("leaf not signed by the CA: %v", err)
	}
	if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "rnd.default.svc" || len(leaf.IPAddresses) != 1 {
		t.Errorf("leaf names %v %v", leaf.DNSNames, leaf.IPAddresses)
	}
	if ca.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
		t.Error("CA and leaf have the same serial number")
	}
	parse("self.crt")
	if c := parse("ec.crt"); c.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("ec.crt has a %v key", c.PublicKeyAlgorithm)
	}
	for k, typ := range map[string]string{"ca.key": "RSA PRIVATE KEY", "tls.key": "RSA PRIVATE KEY", "ec.key": "EC PRIVATE KEY", "ed.key": "PRIVATE KEY", "rsa.key": "RSA PRIVATE KEY"} {
		b, _ := pem.Decode([]byte(d[k]))
		if b == nil || b.Type != typ {
			t.Errorf("%s is not a %s: %q", k, typ, d[k])
			continue
		}
		if _, err := parseKeyPEM(d[k]); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}

	// Another target (the same chart deployed by a GitOps object) gets
	// other values.
	other := rndChart()
	other.Via = &Via{Kind: "Application", Name: "rnd"}
	if _, od := renderText(t, dir, other); od["pass1"] == d["pass1"] {
		t.Errorf("two targets render the same pass1 %q", d["pass1"])
	}
}

// TestDeterministicValuesSite: the values probe, which compares renders,
// works on a chart that calls random functions.
func TestDeterministicValuesSite(t *testing.T) {
	f := newProbeFixture(t, "random")
	_, _, s, err := f.site(t, rndChart(), "Deployment/rnd spec.template.spec.containers[0].image")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := siteString(s), "charts/rnd/values.yaml: image (image <- spec.template.spec.containers[name=rnd].image)"; got != want {
		t.Errorf("site %s, want %s", got, want)
	}
}

// TestDeterminizeRewrite: the rewrite keeps every line where it was and
// leaves what is not a call of a replaced function alone.
func TestDeterminizeRewrite(t *testing.T) {
	for _, src := range []string{
		"a: {{ randAlphaNum 5 }}\nb: {{ .Values.now }} {{ $now := 1 }}{{ $now }}\n",
		"{{- $x := dict\n  \"k\" (randAlpha (randInt 1 9))\n  \"t\" now }}\nc: {{ $x.k }} {{ (now).Year }}\n",
		"{{ template \"now\" . }}{{ define \"now\" }}{{ date \"2006\" now }}{{ end }}\n",
	} {
		d := &detState{target: "t", limit: 1 << 20}
		out := string(determinize("c/templates/x.yaml", []byte(src), d))
		if strings.Count(out, "\n") != strings.Count(src, "\n") {
			t.Errorf("lines moved:\n%s\n->\n%s", src, out)
		}
		if strings.Contains(out, ".Values.now") != strings.Contains(src, ".Values.now") || strings.Count(out, "lookup") != len(d.sites) {
			t.Errorf("rewrite of\n%s\nis\n%s", src, out)
		}
		if _, err := parseTemplateForTest(out); err != nil {
			t.Errorf("rewrite of\n%s\ndoes not parse: %v\n%s", src, err, out)
		}
	}
}

// BenchmarkDeterministicRender renders the random chart; genCA and
// genSignedCert use canned keys, so it costs no RSA key generation.
func BenchmarkDeterministicRender(b *testing.B) {
	dir := unpackDir(b, filepath.Join("probe", "random.txtar"))
	r := newHelmRenderer(b, dir, Options{})
	for b.Loop() {
		if _, err := r.Render(context.Background(), rndChart()); err != nil {
			b.Fatal(err)
		}
	}
}

func parseTemplateForTest(src string) (map[string]*parse.Tree, error) {
	t := parse.New("x")
	t.Mode = parse.SkipFuncCheck
	trees := map[string]*parse.Tree{}
	_, err := t.Parse(src, "", "", trees)
	return trees, err
}

// TestDeterministicError: an error of a replaced function names the
// function and the template line, not the lookup standing in for it.
func TestDeterministicError(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"c/Chart.yaml":       "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"c/templates/x.yaml": "a: 1\nb: {{ randAlphaNum \"x\" }}\n",
	})
	_, err := newHelmRenderer(t, dir, Options{}).Render(context.Background(), &Target{Kind: KindHelm, Path: "c"})
	want := "c/templates/x.yaml:2: template execution failed: randAlphaNum: argument 1 is a string, not an integer"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}
